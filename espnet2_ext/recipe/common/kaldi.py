"""Kaldi-style table files (``key value``) and data directories."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError


def byte_sorted(keys) -> List[str]:
    """Keys in C-locale byte order (as ``sort`` does under ``LC_ALL=C`` in Kaldi)."""
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def read_table(path: Path, what: str = "") -> Dict[str, str]:
    """Read a Kaldi table (``key value...``) into an ordered dict; a repeated key is an error."""
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
            if parts[0] in out:
                raise RecipeError(f"{path}:{n}: duplicate key {parts[0]!r}")
            out[parts[0]] = parts[1] if len(parts) > 1 else ""
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


def write_table(path: Path, rows: Dict[str, str], keep_same: bool = False) -> None:
    """Write a Kaldi table sorted by key (byte order)."""
    write_text_atomic(path, "".join(f"{k} {rows[k]}\n" for k in byte_sorted(rows)), keep_same)


def wav_path(value: str, what: str) -> str:
    """The file of a ``wav.scp`` value (plain paths only; pipes are not supported)."""
    if value.rstrip().endswith("|"):
        raise RecipeError(f"{what}: piped wav.scp entries are not supported: {value!r}")
    return value.strip()


def spk2utt_from_utt2spk(utt2spk: Dict[str, str]) -> Dict[str, str]:
    groups: Dict[str, List[str]] = {}
    for utt in byte_sorted(utt2spk):
        groups.setdefault(utt2spk[utt], []).append(utt)
    return {spk: " ".join(utts) for spk, utts in groups.items()}


def write_data_dir(out: Path, wav: Dict[str, str], text: Dict[str, str], utt2spk: Dict[str, str],
                   utt2dur: Dict[str, float], extra: Optional[Dict[str, Dict[str, str]]] = None) -> None:
    """Write a Kaldi data directory, every file sorted, ``spk2utt`` derived;
    ``extra`` adds tables (e.g. ``spk1.scp``) with the same utterances."""
    out = Path(out)
    keys = set(wav)
    tables = {"text": text, "utt2spk": utt2spk, "utt2dur": utt2dur, **(extra or {})}
    for name, table in tables.items():
        if set(table) != keys:
            raise RecipeError(f"{out}: {name} and wav.scp list different utterances")
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "wav.scp", wav)
    write_table(out / "spk2utt", spk2utt_from_utt2spk(utt2spk))
    write_table(out / "utt2dur", {k: f"{v:.3f}" for k, v in utt2dur.items()})
    for name, table in tables.items():
        if name != "utt2dur":
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
        keys = [line.split(maxsplit=1)[0] for line in p.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        if keys != byte_sorted(keys) or len(set(keys)) != len(keys):
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
    if spk2utt_from_utt2spk(tables["utt2spk"]) != tables["spk2utt"]:
        problems.append(f"{d}/spk2utt is not consistent with utt2spk")
    for utt, spk in tables["utt2spk"].items():
        if not utt.startswith(spk):
            problems.append(f"{d}/utt2spk: utterance {utt} does not start with its speaker {spk}")
            break
    return problems
