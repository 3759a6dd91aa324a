"""Shared helpers: errors, Kaldi-style table files, audio I/O, CLI wrapper."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

SAMPLE_RATE = 16000
MIN_SAMPLES = 400  # the SSL model's first convolution needs 400 samples


class RecipeError(RuntimeError):
    """A user-facing error: bad input or a failed step; the message says which and why."""


# --------------------------------------------------------------------------- tables
def read_table(path: Path, what: str = "") -> Dict[str, str]:
    """Read a Kaldi table (``key value...``) into an ordered dict."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{what or 'file'} {path} does not exist")
    out: Dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split(maxsplit=1)
            key = parts[0]
            if key in out:
                raise RecipeError(f"{path}:{n}: duplicate key {key!r}")
            out[key] = parts[1] if len(parts) > 1 else ""
    return out


def write_text_atomic(path: Path, text: str, keep_same: bool = False) -> None:
    """Write a file so that readers never see it half written.

    With ``keep_same``, a file that already holds ``text`` is left untouched
    (its modification time too).
    """
    path = Path(path)
    if keep_same and path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_table(path: Path, rows: Dict[str, str]) -> None:
    """Write a Kaldi table sorted by key (C-locale byte order, as ``sort`` in Kaldi)."""
    keys = sorted(rows, key=lambda k: k.encode("utf-8"))
    write_text_atomic(path, "".join(f"{k} {rows[k]}\n" for k in keys))


def spk2utt_from_utt2spk(utt2spk: Dict[str, str]) -> Dict[str, str]:
    groups: Dict[str, List[str]] = {}
    for utt in sorted(utt2spk, key=lambda k: k.encode("utf-8")):
        groups.setdefault(utt2spk[utt], []).append(utt)
    return {spk: " ".join(utts) for spk, utts in groups.items()}


def write_data_dir(
    out: Path,
    wav: Dict[str, str],
    text: Dict[str, str],
    utt2spk: Dict[str, str],
    utt2dur: Dict[str, float],
    extra: Optional[Dict[str, Dict[str, str]]] = None,
) -> None:
    """Write a Kaldi data directory, every file sorted, ``spk2utt`` derived."""
    out = Path(out)
    keys = set(wav)
    for name, table in [("text", text), ("utt2spk", utt2spk), ("utt2dur", utt2dur)] + list(
        (extra or {}).items()
    ):
        if set(table) != keys:
            raise RecipeError(f"{out}: {name} and wav.scp list different utterances")
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "wav.scp", wav)
    write_table(out / "text", text)
    write_table(out / "utt2spk", utt2spk)
    write_table(out / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    write_table(out / "utt2dur", {k: f"{v:.3f}" for k, v in utt2dur.items()})
    for name, table in (extra or {}).items():
        write_table(out / name, table)


def check_data_dir(d: Path, extra: Sequence[str] = ()) -> List[str]:
    """Consistency check of a Kaldi data dir; returns the list of problems."""
    d = Path(d)
    problems = []
    names = ["wav.scp", "text", "utt2spk", "spk2utt", "utt2dur"] + list(extra)
    tables = {}
    for name in names:
        p = d / name
        if not p.is_file():
            problems.append(f"{p} is missing")
            continue
        keys = [line.split(maxsplit=1)[0] for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        if keys != sorted(keys, key=lambda k: k.encode("utf-8")) or len(set(keys)) != len(keys):
            problems.append(f"{p} is not sorted by unique keys")
        tables[name] = read_table(p)
    if problems:
        return problems
    utts = set(tables["wav.scp"])
    if not utts:
        problems.append(f"{d}/wav.scp is empty")
    for name in names:
        if name != "spk2utt" and set(tables[name]) != utts:
            problems.append(f"{d}/{name} does not list the same utterances as wav.scp")
    rebuilt = spk2utt_from_utt2spk(tables["utt2spk"])
    if rebuilt != tables["spk2utt"]:
        problems.append(f"{d}/spk2utt is not consistent with utt2spk")
    for utt, spk in tables["utt2spk"].items():
        if not utt.startswith(spk):
            problems.append(f"{d}/utt2spk: utterance {utt} does not start with its speaker {spk}")
            break
    return problems


# --------------------------------------------------------------------------- audio
def read_audio(path: str):
    """Read a mono float32 signal; returns ``(signal, sample_rate)``."""
    import numpy as np
    import soundfile as sf

    try:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises several types
        raise RecipeError(f"cannot read audio file {path}: {e}") from None
    if x.shape[1] != 1:
        raise RecipeError(f"{path} has {x.shape[1]} channels; a mono signal is expected")
    return np.ascontiguousarray(x[:, 0]), sr


def write_wav(path: Path, x, sr: int = SAMPLE_RATE, subtype: str = "PCM_16") -> None:
    import soundfile as sf

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr, subtype=subtype)


def wav_path(value: str, what: str) -> str:
    """The file of a ``wav.scp`` value (plain paths only; pipes are not supported)."""
    if value.rstrip().endswith("|"):
        raise RecipeError(f"{what}: piped wav.scp entries are not supported: {value!r}")
    return value.strip()


# --------------------------------------------------------------------------- CLI
def run_cli(fn: Callable[[Optional[Sequence[str]]], int], argv=None) -> int:
    """Run a CLI main; a :class:`RecipeError` becomes a one-line error, exit 1."""
    prog = Path(sys.argv[0]).stem
    try:
        return fn(argv) or 0
    except RecipeError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def str2bool(v: str) -> bool:
    if v.lower() in ("true", "1", "yes"):
        return True
    if v.lower() in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, got {v!r}")


def progress(it: Iterable, desc: str, total: Optional[int] = None):
    """tqdm over ``it`` on stderr (plain iteration if tqdm is missing)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return it
    return tqdm(it, desc=desc, total=total, file=sys.stderr, mininterval=5.0)


def parse_tuple_list(s: str) -> Tuple[float, ...]:
    return tuple(float(v) for v in s.replace(",", " ").split())
