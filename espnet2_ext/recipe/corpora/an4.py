"""AN4 reader, audio validation and Kaldi data directories (stage 1 of ``mini_an4``).

Layout (CMU's ``an4_sphere.tar.gz``)::

    wav/an4_clstk/<spk>/<utt>.sph        wav/an4test_clstk/<spk>/<utt>.sph
    etc/an4_train.transcription          "<s> WORDS </s> (utt-id)"
    etc/an4_test.transcription           "WORDS (utt-id)"
    etc/an4_{train,test}.fileids         "an4_clstk/<spk>/<utt>"

Utterance ids are rewritten speaker-first (``an104-mrcb-b`` becomes
``mrcb-an104-b``), so that sorting ``utt2spk`` by utterance also groups
speakers, as Kaldi requires.  The training speakers held out as ``dev`` are
chosen evenly spread and deterministically.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tarfile
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2_ext.recipe.common.cli import RecipeError, run_cli, str2bool
from espnet2_ext.recipe.corpora.validate import (BadAudio, Utterance, keep_valid,
                                                 settle_bad_audio, write_set)

AN4_URL = "http://www.speech.cs.cmu.edu/databases/an4/an4_sphere.tar.gz"
_TRANS = re.compile(r"^(?P<words>.*?)\s*\((?P<id>[^()\s]+)\)\s*$")


def speaker_first_id(orig_id: str, spk: str) -> str:
    """``an104-mrcb-b`` with speaker ``mrcb`` -> ``mrcb-an104-b``."""
    parts = orig_id.split("-")
    if spk in parts:
        parts.remove(spk)
        return "-".join([spk] + parts)
    return f"{spk}-{orig_id}"


def read_transcription(path: Path) -> Dict[str, str]:
    """``utt-id -> WORDS`` from an AN4 transcription file (both formats)."""
    if not path.is_file():
        raise RecipeError(f"AN4 transcription file {path} does not exist")
    out: Dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        m = _TRANS.match(line.strip())
        if not m:
            raise RecipeError(f"{path}:{n}: cannot parse transcription line {line!r}; "
                              "expected 'WORDS (utt-id)'")
        # sentence markers, in any case (some AN4 lines carry "<s> <S> ... </S> </s>")
        words = [w for w in m.group("words").split() if w.lower() not in ("<s>", "</s>", "<sil>")]
        out[m.group("id")] = " ".join(words).upper()
    return out


def read_fileids(path: Path) -> List[str]:
    if not path.is_file():
        raise RecipeError(f"AN4 file list {path} does not exist")
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def read_an4_set(root: Path, part: str) -> Tuple[List[Utterance], List[BadAudio]]:
    """Read one AN4 part (``train`` or ``test``) with its transcriptions.

    Returns the utterances and the problems of the ones that cannot be used.
    """
    root = Path(root)
    trans = read_transcription(root / "etc" / f"an4_{part}.transcription")
    utts: List[Utterance] = []
    bad: List[BadAudio] = []
    for fid in read_fileids(root / "etc" / f"an4_{part}.fileids"):
        rel = Path(fid)
        if len(rel.parts) < 2:
            raise RecipeError(f"{root}/etc/an4_{part}.fileids: unexpected entry {fid!r}; "
                              "expected '<dir>/<speaker>/<utterance>'")
        spk, orig = rel.parts[-2], rel.name
        path = root / "wav" / (fid + ".sph")
        utt_id = speaker_first_id(orig, spk)
        if orig not in trans:
            bad.append(BadAudio(utt_id, path, "no transcription"))
        elif not trans[orig]:
            bad.append(BadAudio(utt_id, path, "empty transcription"))
        else:
            utts.append(Utterance(orig, utt_id, spk, path, trans[orig]))
    return keep_valid(utts, bad, part), bad


def choose_dev_speakers(speakers: Sequence[str], num: int) -> List[str]:
    """A deterministic, evenly spread choice of ``num`` speakers (sorted input)."""
    speakers = sorted(set(speakers))
    if num <= 0:
        return []
    if num >= len(speakers):
        raise RecipeError(f"cannot hold out {num} dev speakers: training has only "
                          f"{len(speakers)} speakers")
    step = len(speakers) / num
    return [speakers[int(step * i + step / 2)] for i in range(num)]


def download_an4(download_dir: Path, url: str = AN4_URL) -> Path:
    """Download and extract CMU's ``an4_sphere.tar.gz``; returns the AN4 root."""
    download_dir = Path(download_dir)
    root = download_dir / "an4"
    if (root / "etc" / "an4_train.transcription").is_file():
        return root
    download_dir.mkdir(parents=True, exist_ok=True)
    tgz = download_dir / "an4_sphere.tar.gz"
    if not tgz.is_file():
        part = tgz.with_suffix(".part")
        print(f"downloading {url} to {tgz}", flush=True)
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(part, "wb") as f:
                shutil.copyfileobj(r, f)
        except Exception as e:
            if part.exists():
                part.unlink()
            raise RecipeError(
                f"could not download AN4 from {url}: {e}. Download an4_sphere.tar.gz by "
                f"hand into {download_dir}/ or pass --an4_root pointing at an extracted copy"
            ) from None
        part.rename(tgz)
    try:
        with tarfile.open(tgz) as t:
            t.extractall(download_dir, filter="data")
    except (tarfile.TarError, OSError) as e:
        raise RecipeError(f"cannot extract {tgz}: {e}; delete it and rerun") from None
    if not (root / "etc" / "an4_train.transcription").is_file():
        raise RecipeError(f"{tgz} did not contain an an4/ folder in CMU's layout")
    return root


def prepare(an4_root: Path, data_dir: Path, num_dev_spk: int = 3,
            dev_speakers: Optional[Sequence[str]] = None, skip_bad_audio: bool = False
            ) -> Dict[str, int]:
    """Validate AN4 and write ``data_dir/{train,dev,test}``; returns the set sizes."""
    an4_root = Path(an4_root)
    if not (an4_root / "wav").is_dir() or not (an4_root / "etc").is_dir():
        raise RecipeError(f"{an4_root} is not an AN4 root (expected wav/ and etc/ in it)")
    train, bad_train = read_an4_set(an4_root, "train")
    test, bad_test = read_an4_set(an4_root, "test")
    settle_bad_audio(bad_train + bad_test, "AN4", data_dir, skip_bad_audio)
    speakers = sorted({u.spk for u in train})
    if dev_speakers:
        unknown = sorted(set(dev_speakers) - set(speakers))
        if unknown:
            raise RecipeError(f"dev speaker(s) {' '.join(unknown)} are not training speakers")
        dev_spk = sorted(set(dev_speakers))
    else:
        dev_spk = choose_dev_speakers(speakers, num_dev_spk)
    overlap = {u.spk for u in test} & set(speakers)
    if overlap:
        print(f"warning: speakers in both AN4 train and test: {' '.join(sorted(overlap))}")
    sets = {"train": [u for u in train if u.spk not in dev_spk],
            "dev": [u for u in train if u.spk in dev_spk],
            "test": test}
    for name, utts in sets.items():
        write_set(Path(data_dir) / name, utts)
    return {k: len(v) for k, v in sets.items()}


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="prep_an4", description="Validate AN4 and write Kaldi-style data/{train,dev,test}.")
    p.add_argument("--an4_root", default="",
                   help="extracted AN4 (CMU layout); empty: download into --download_dir")
    p.add_argument("--download_dir", default="downloads")
    p.add_argument("--data_dir", default="data")
    p.add_argument("--num_dev_spk", type=int, default=3,
                   help="training speakers held out as dev (evenly spread, deterministic)")
    p.add_argument("--dev_speakers", default="", help="explicit dev speakers (overrides)")
    p.add_argument("--skip_bad_audio", type=str2bool, default=False,
                   help="leave bad files out (listed in DATA_DIR/bad_audio.txt) instead of failing")
    return p


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    root = Path(args.an4_root) if args.an4_root else download_an4(Path(args.download_dir))
    sizes = prepare(root, Path(args.data_dir), args.num_dev_spk, args.dev_speakers.split(),
                    args.skip_bad_audio)
    print("prepared " + ", ".join(f"{k}: {v} utterances" for k, v in sizes.items()))
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
