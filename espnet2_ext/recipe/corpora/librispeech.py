"""LibriSpeech reader with audio validation (stage 1 of ``librispeech_demand``).

Official layout of one subset (``train-clean-100``, ``dev-clean``, ...)::

    <root>/<subset>/<spk>/<chapter>/<spk>-<chapter>-<nnnn>.flac
    <root>/<subset>/<spk>/<chapter>/<spk>-<chapter>.trans.txt   "<spk>-<chapter>-<nnnn> WORDS"

Utterance ids are LibriSpeech's own (they start with the speaker id, as Kaldi
requires).  Every listed utterance is validated like AN4's (readable, mono,
16 kHz, long enough, not silent); a FLAC without a transcription line and a
transcription line without a FLAC are reported as bad utterances too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import read_table
from espnet2_ext.recipe.corpora.validate import BadAudio, Utterance, keep_valid


def read_trans(path: Path) -> Dict[str, str]:
    """``utt-id -> WORDS`` (upper case, blanks folded) of one ``<spk>-<chapter>.trans.txt``."""
    table = read_table(path, "LibriSpeech transcription file")
    return {utt: " ".join(words.split()).upper() for utt, words in table.items()}


def read_subset(root: Path, subset: str) -> Tuple[List[Utterance], List[BadAudio]]:
    """Read and validate one subset; returns the usable utterances and the bad ones."""
    base = Path(root) / subset
    if not base.is_dir():
        raise RecipeError(f"LibriSpeech subset {base} does not exist (expected "
                          f"<librispeech_root>/{subset}/<speaker>/<chapter>/)")
    utts: List[Utterance] = []
    bad: List[BadAudio] = []
    chapters = sorted(c for s in base.iterdir() if s.is_dir() for c in s.iterdir() if c.is_dir())
    if not chapters:
        raise RecipeError(f"LibriSpeech subset {base} has no <speaker>/<chapter>/ folders")
    for chap in chapters:
        spk = chap.parent.name
        trans = read_trans(chap / f"{spk}-{chap.name}.trans.txt")
        flacs = {p.stem: p for p in chap.glob("*.flac")}
        for utt in sorted(set(trans) | set(flacs)):
            path = flacs.get(utt, chap / f"{utt}.flac")
            if not utt.startswith(f"{spk}-{chap.name}-"):
                bad.append(BadAudio(utt, path, f"id does not match its folder {spk}/{chap.name}"))
            elif utt not in trans:
                bad.append(BadAudio(utt, path, "no transcription line in "
                                    f"{spk}-{chap.name}.trans.txt"))
            elif not trans[utt]:
                bad.append(BadAudio(utt, path, "empty transcription"))
            else:
                utts.append(Utterance(utt, utt, spk, path, trans[utt]))
    return keep_valid(utts, bad, subset), bad
