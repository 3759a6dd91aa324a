"""Word error rate of one hypothesis stream against one speaker's transcription (jiwer).

Both sides are normalised first (default :func:`normalize`: upper case, one
blank between words; Whisper's output takes
:func:`espnet2_ext.recipe.scoring.whisper.normalize`).  The result holds the
corpus WER and, under ``per_utt``, each utterance's errors and reference
words (what an interval over utterances resamples).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError, run_cli
from espnet2_ext.recipe.common.kaldi import read_table, write_text_atomic


def normalize(s: str) -> str:
    return " ".join(s.replace("<space>", " ").upper().split())


def wer_tables(ref: Dict[str, str], hyp: Dict[str, str],
               norm: Callable[[str], str] = normalize) -> Dict[str, object]:
    """Corpus WER (%) over the utterances of ``ref`` (an empty reference is left out);
    a missing hypothesis counts as empty."""
    import jiwer

    keys = sorted(ref)
    if not keys:
        raise RecipeError("empty reference text")
    refs = [norm(ref[k]) for k in keys]
    hyps = [norm(hyp.get(k, "")) for k in keys]
    pairs = [(k, r, h) for k, r, h in zip(keys, refs, hyps) if r]
    if not pairs:
        raise RecipeError("every reference transcription is empty")
    out = jiwer.process_words([r for _, r, _ in pairs], [h for _, _, h in pairs])
    n_ref = sum(len(r.split()) for _, r, _ in pairs)
    errors = out.substitutions + out.deletions + out.insertions
    per_utt = {}
    for k, r, h in pairs:
        one = jiwer.process_words(r, h) if h else None
        e = one.substitutions + one.deletions + one.insertions if one else len(r.split())
        per_utt[k] = {"errors": int(e), "words": len(r.split()), "ref": r, "hyp": h}
    return {
        "wer": 100.0 * errors / n_ref,
        "ref_words": float(n_ref),
        "sub": float(out.substitutions),
        "del": float(out.deletions),
        "ins": float(out.insertions),
        "num_utts": float(len(pairs)),
        "missing_hyps": float(sum(1 for k in keys if k not in hyp)),
        "per_utt": per_utt,
    }


def score_files(ref_text: Path, hyp_text: Path, out: Optional[Path] = None,
                norm: Callable[[str], str] = normalize) -> Dict[str, object]:
    res = wer_tables(read_table(ref_text, "reference text"), read_table(hyp_text, "hypothesis text"), norm)
    if out is not None:
        write_text_atomic(Path(out), json.dumps(res, indent=1) + "\n")
    return res


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="score_wer", description="WER of Kaldi-style text files")
    p.add_argument("--ref", required=True)
    p.add_argument("--hyp", required=True)
    p.add_argument("--out", default="", help="write the result as JSON here")
    return p


def summary_line(r: Dict[str, float]) -> str:
    return (f"WER {r['wer']:.2f}% ({int(r['sub'])} sub, {int(r['del'])} del, {int(r['ins'])} ins "
            f"/ {int(r['ref_words'])} words)")


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    print(summary_line(score_files(Path(a.ref), Path(a.hyp), Path(a.out) if a.out else None)))
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
