"""Whisper as an independent recognizer (stage 6), beside pocketsphinx.

The recognizer is openai-whisper's model with weights from the pip packages
of :mod:`espnet2_ext.ssl` (``espnet2_ext.ssl.load_whisper``: ``whisper_base``
by default), run offline: ``transcribe(x, language="en", temperature=0,
fp16=False)``, one utterance at a time (greedy, no temperature fallback, so
the output does not depend on the other utterances).  It must not be the
encoder the losses were computed with: :func:`check_recognizer` refuses a
recognizer equal to the run's ``--upstream``.

**Normalisation before the WER** (:func:`normalize`, applied to the
reference and to the hypothesis alike).  Whisper writes numbers as digits
("11, 27, 57.") and words in mixed case with punctuation, where AN4 spells
everything out in capitals ("ELEVEN TWENTY SEVEN FIFTY SEVEN"), and AN4
spells letters one by one ("P I T T S B U R G H") where Whisper may write
the word.  So both sides go through

1. a run of two or more single letters, apart by blanks, hyphens, commas or
   full stops, becomes one word ("P I T T S B U R G H", "P-I-T-T-S-B-U-R-G-H"
   -> ``PITTSBURGH``), so that a spelled word and the word agree, and a spelled
   "O" is not taken for zero by the next step;
2. Whisper's English normaliser (``whisper.normalizers.EnglishTextNormalizer``:
   lower case, no punctuation, spelling standardised, number words turned
   into digits: "twenty seven" -> "27", "oh five" -> "05");
3. every digit becomes a word of its own ("112757" and "11 27 57" both give
   ``1 1 2 7 5 7``), since how digits are grouped is not what is said.

The WER is then counted on these words (its denominator: the normalised
reference's words).  ``asr_whisper decode`` writes Whisper's raw text per
key; the stage script's ``recipe_steps collect whisper SET`` splits it per
front-end and scores it with :func:`normalize` (WER for one stream, cpWER /
ORC-WER for several).
"""

from __future__ import annotations

import argparse
import re
from functools import lru_cache, partial
from pathlib import Path
from typing import List, Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError, run_subcommand
from espnet2_ext.recipe.common.kaldi import read_table
from espnet2_ext.recipe.scoring.decode import decode_scp

#: the Whisper models a recognizer can be (their weights ship in pip packages)
RECOGNIZERS = ("whisper_base", "whisper_tiny_en")
_DIGITS = re.compile(r"(\d)")
# two or more single letters (each without a letter or apostrophe next to it), apart by blanks or . , -
_LETTER_RUN = re.compile(r"(?<![A-Za-z'])[A-Za-z](?:[\s.,\-]+[A-Za-z](?![A-Za-z']))+(?![A-Za-z'])")


@lru_cache(maxsize=1)
def _english_normalizer():
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalize(text: str) -> str:
    """The words a WER counts (see the module doc): single-letter runs joined,
    Whisper's English normaliser, one word per digit."""
    text = text.replace("<space>", " ")
    text = _LETTER_RUN.sub(lambda m: re.sub(r"[^A-Za-z]", "", m.group(0)), text)
    out: List[str] = []
    for w in _english_normalizer()(text).split():
        out += [p for p in _DIGITS.split(w) if p]
    return " ".join(out)


def check_recognizer(name: str, upstream: str = "") -> None:
    """A known Whisper model, and not the losses' own encoder."""
    if name not in RECOGNIZERS:
        raise RecipeError(f"unknown Whisper recognizer {name!r}; one of {', '.join(RECOGNIZERS)}")
    if upstream and name == upstream:
        raise RecipeError(f"the Whisper recognizer {name} is the upstream the losses were computed with; "
                          f"an independent recognizer must be another model (e.g. "
                          f"{[r for r in RECOGNIZERS if r != name][0]})")


def load_recognizer(name: str):
    """openai-whisper's model ``name`` (eval, CPU, float32), from its pip package."""
    from espnet2_ext.ssl import SSLUpstreamError, load_whisper

    try:
        return load_whisper(name)
    except (SSLUpstreamError, ValueError) as e:
        raise RecipeError(f"cannot load the Whisper recognizer {name}: {e}") from None


def transcribe(model, x) -> str:
    """Whisper's text of one 16-kHz float32 signal (offline, deterministic)."""
    import numpy as np

    out = model.transcribe(np.ascontiguousarray(x, dtype=np.float32), language="en", temperature=0.0,
                           fp16=False, verbose=None, condition_on_previous_text=False)
    return " ".join(str(out["text"]).split())


def main_decode(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="asr_whisper decode", description="Whisper on the signals of a wav.scp")
    p.add_argument("--wav_scp", required=True, help="KEY PATH per line")
    p.add_argument("--key_file", default="", help="decode only these keys (first column)")
    p.add_argument("--out_dir", required=True, help="writes OUT_DIR/text (Whisper's raw text per key)")
    p.add_argument("--model", default="whisper_base", help=f"one of {', '.join(RECOGNIZERS)}")
    p.add_argument("--loss_upstream", default="", help="the losses' encoder: refused as the recognizer")
    a = p.parse_args(argv)
    check_recognizer(a.model, a.loss_upstream)
    keys = list(read_table(Path(a.key_file), "key file")) if a.key_file else None
    model = load_recognizer(a.model)
    print(f"Whisper recognizer {a.model} (language en, temperature 0, fp32)", flush=True)
    decode_scp(partial(transcribe, model), Path(a.wav_scp), Path(a.out_dir) / "text", keys, "whisper")
    return 0


def main_normalize(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="asr_whisper normalize", description="the WER's words of each line")
    p.add_argument("text", nargs="+")
    a = p.parse_args(argv)
    for t in a.text:
        print(normalize(t))
    return 0


def cli(argv=None) -> int:
    return run_subcommand("asr_whisper", {"decode": main_decode, "normalize": main_normalize}, argv)
