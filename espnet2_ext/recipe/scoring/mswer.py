"""Multi-speaker WER of separated streams (separation recipes, stage 6), with meeteval.

* cpWER (concatenated minimum-permutation WER): per mixture, each reference
  speaker's transcription is compared with one hypothesis stream; the
  speaker-to-stream assignment minimising the errors is taken (a stream or a
  speaker left without partner counts as insertions or deletions);
* ORC-WER (optimal reference combination): each reference utterance may go to
  any stream; a lower bound of cpWER, blind to a stream that switches speakers.

Both are corpus-level rates: total errors over total reference words.  With one
reference utterance per speaker and mixture (AN4, WSJ0-2mix/WHAMR!), cpWER
equals the utterance-level PIT-WER.

``asr_sphinx`` (:mod:`.sphinx`) decodes every stream of a system and scores it
with this module when there are several speakers; ``score_mswer`` scores
existing hypothesis texts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError, run_cli
from espnet2_ext.recipe.common.kaldi import read_table, write_text_atomic
from espnet2_ext.recipe.scoring.wer import normalize


def _segments(tables: Sequence[Dict[str, str]], keys: Sequence[str], prefix: str,
              norm: Callable[[str], str] = normalize) -> List[dict]:
    return [{"session_id": k, "speaker": f"{prefix}{n + 1}", "words": norm(t.get(k, ""))}
            for k in keys for n, t in enumerate(tables)]


def mswer_tables(refs: Sequence[Dict[str, str]], hyps: Sequence[Dict[str, str]],
                 norm: Callable[[str], str] = normalize) -> Dict[str, object]:
    """cpWER and ORC-WER (%) of ``hyps`` (one table per stream) against ``refs``
    (one table per speaker), over the mixtures of ``refs[0]``; a missing
    hypothesis counts as empty; both sides normalised by ``norm``."""
    import logging

    from meeteval.wer import combine_error_rates, cpwer, orcwer

    if not refs or not hyps:
        raise RecipeError("need at least one reference and one hypothesis stream")
    keys = sorted(refs[0])
    if not keys:
        raise RecipeError("empty reference text")
    for n, t in enumerate(refs[1:], 2):
        if set(t) != set(keys):
            raise RecipeError(f"reference {n} lists other mixtures than reference 1")
    ref_seg = _segments(refs, keys, "ref", norm)
    hyp_seg = _segments(hyps, keys, "hyp", norm)
    logging.getLogger("meeteval").setLevel(logging.ERROR)
    kw = dict(reference_sort=False, hypothesis_sort=False)
    cp = cpwer(ref_seg, hyp_seg, **kw)
    orc = orcwer(ref_seg, hyp_seg, **kw)
    cpt, orct = combine_error_rates(cp), combine_error_rates(orc)
    if cpt.length == 0:
        raise RecipeError("every reference transcription is empty")
    per_utt = {}
    for k in keys:
        per_utt[k] = {
            "cpwer": 100.0 * float(cp[k].error_rate) if cp[k].length else 0.0,
            "errors": int(cp[k].errors), "words": int(cp[k].length),
            "assignment": [list(p) for p in cp[k].assignment],
        }
    return {
        "cpwer": 100.0 * cpt.errors / cpt.length,
        "orcwer": 100.0 * orct.errors / orct.length,
        "ref_words": float(cpt.length),
        "cp_errors": float(cpt.errors),
        "cp_sub": float(cpt.substitutions),
        "cp_del": float(cpt.deletions),
        "cp_ins": float(cpt.insertions),
        "orc_errors": float(orct.errors),
        "num_utts": float(len(keys)),
        "num_streams": float(len(hyps)),
        "per_utt": per_utt,
    }


def score_files(ref_texts: Sequence[Path], hyp_texts: Sequence[Path],
                out: Optional[Path] = None, norm: Callable[[str], str] = normalize) -> Dict[str, object]:
    refs = [read_table(p, "reference text") for p in ref_texts]
    hyps = [read_table(p, "hypothesis text") for p in hyp_texts]
    res = mswer_tables(refs, hyps, norm)
    if out is not None:
        write_text_atomic(Path(out), json.dumps(res, indent=1) + "\n")
    return res


def summary_line(r: Dict[str, object]) -> str:
    return (f"cpWER {r['cpwer']:.2f}% ORC-WER {r['orcwer']:.2f}% "
            f"({int(r['cp_sub'])} sub, {int(r['cp_del'])} del, {int(r['cp_ins'])} ins "
            f"/ {int(r['ref_words'])} words)")


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="score_mswer", description="cpWER and ORC-WER (meeteval)")
    p.add_argument("--ref", required=True, action="append",
                   help="reference text of speaker n (text_spk1, text_spk2, ...)")
    p.add_argument("--hyp", required=True, action="append", help="hypothesis text of stream n")
    p.add_argument("--out", default="", help="write the result as JSON here")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    r = score_files([Path(p) for p in a.ref], [Path(p) for p in a.hyp],
                    Path(a.out) if a.out else None)
    print(summary_line(r))
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
