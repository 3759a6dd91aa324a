"""Phoneme targets of the SUPERB-style phoneme-recognition downstream task (stage 7).

Words become phones through the CMU pronouncing dictionary that the
``pocketsphinx`` package ships offline (``<model path>/en-us/cmudict-en-us.dict``;
``--dict`` for another file in the same format: ``word PH1 PH2 ...``).  Stress
digits are stripped (``AH0`` -> ``AH``); of alternative pronunciations
(``word(2)``) the first listed is taken.

Policy for words the dictionary lacks: the utterance is left out of the phone
data dir (it cannot have a correct target) and listed, with its unknown words,
in ``OUT_DIR/oov.txt``; a set left with no utterance is an error.  PER is then
scored over the utterances that have phone targets.

``python -m espnet2_ext.bin.downstream_data phones`` writes a Kaldi data dir
whose ``text`` holds space-separated phones (ESPnet's ``--token_type word``;
token list and shapes: :mod:`.tokens`).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import read_table, write_data_dir, write_table

_ALT = re.compile(r"^(?P<word>.+)\((?P<n>\d+)\)$")
_STRESS = re.compile(r"\d+$")


def default_dict() -> Path:
    """The CMU dictionary inside the installed pocketsphinx package."""
    try:
        from pocketsphinx import get_model_path
    except ImportError:
        raise RecipeError("pocketsphinx is not installed (it ships the CMU dictionary); "
                          "pip install pocketsphinx or give --dict") from None
    p = Path(get_model_path()) / "en-us" / "cmudict-en-us.dict"
    if not p.is_file():
        raise RecipeError(f"the pocketsphinx package has no CMU dictionary at {p}; give --dict")
    return p


def load_lexicon(path: Path) -> Dict[str, List[str]]:
    """``WORD -> [PHONES]`` (upper case, stress digits stripped, first pronunciation)."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"pronunciation dictionary {path} does not exist")
    lex: Dict[str, List[str]] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith(";;;"):
                continue
            parts = line.split()
            if len(parts) < 2:
                raise RecipeError(f"{path}:{n}: a word without phones: {line!r}")
            m = _ALT.match(parts[0])
            word = (m.group("word") if m else parts[0]).upper()
            if word in lex:  # an alternative, or a repeat: the first one wins
                continue
            lex[word] = [_STRESS.sub("", p).upper() for p in parts[1:]]
    if not lex:
        raise RecipeError(f"pronunciation dictionary {path} is empty")
    return lex


def to_phones(words: str, lex: Dict[str, List[str]]) -> Tuple[List[str], List[str]]:
    """``(phones, unknown words)`` of a transcription."""
    phones: List[str] = []
    oov: List[str] = []
    for w in words.upper().split():
        if w in lex:
            phones += lex[w]
        else:
            oov.append(w)
    return phones, oov


def make_phone_dir(src: Path, out: Path, lex: Dict[str, List[str]]) -> Tuple[int, int]:
    """Write ``out`` from ``src`` with phone transcriptions; returns ``(kept, dropped)``."""
    src, out = Path(src), Path(out)
    wav = read_table(src / "wav.scp", "wav.scp")
    text = read_table(src / "text", "text")
    utt2spk = read_table(src / "utt2spk", "utt2spk")
    utt2dur = read_table(src / "utt2dur", "utt2dur")
    phn: Dict[str, str] = {}
    dropped: Dict[str, str] = {}
    for utt in wav:
        if utt not in text:
            raise RecipeError(f"{src}/text has no transcription of {utt}")
        p, oov = to_phones(text[utt], lex)
        if oov or not p:
            dropped[utt] = " ".join(oov) or "(empty transcription)"
        else:
            phn[utt] = " ".join(p)
    if not phn:
        raise RecipeError(f"no utterance of {src} can be written in phones: every one has words "
                          f"the dictionary lacks (e.g. {next(iter(dropped.values()))})")
    keep = sorted(phn)
    write_data_dir(out, {k: wav[k] for k in keep}, phn, {k: utt2spk[k] for k in keep},
                   {k: float(utt2dur[k]) for k in keep})
    write_table(out / "oov.txt", dropped)
    return len(keep), len(dropped)


def main_phones(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="downstream_data phones", description="phone data dirs")
    p.add_argument("--src_dir", required=True, action="append",
                   help="Kaldi data dir with word transcriptions (repeat for several)")
    p.add_argument("--out_dir", required=True, action="append", help="its phone data dir (one per --src_dir)")
    p.add_argument("--dict", default="", help="pronunciation dictionary (default: pocketsphinx's CMU dict)")
    a = p.parse_args(argv)
    if len(a.src_dir) != len(a.out_dir):
        raise RecipeError(f"give one --out_dir per --src_dir ({len(a.src_dir)} vs {len(a.out_dir)})")
    lex = load_lexicon(Path(a.dict) if a.dict else default_dict())
    for src, out in zip(a.src_dir, a.out_dir):
        kept, dropped = make_phone_dir(Path(src), Path(out), lex)
        msg = f"{out}: {kept} utterances in phones"
        if dropped:
            msg += f", {dropped} left out for words missing from the dictionary (see {out}/oov.txt)"
        print(msg, flush=True)
    return 0
