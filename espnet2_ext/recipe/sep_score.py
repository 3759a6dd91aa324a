"""Signal scores of separated speech (separation recipes, stage 5).

Per mixture, the estimates are assigned to the references by the permutation
of highest mean SI-SDR (as PIT over SI-SNR does in training); then

* ``si_sdr``: mean over speakers of SI-SDR(estimate, reference) in dB;
* ``si_sdri``: minus the SI-SDR of the unprocessed mixture against the same
  reference (the improvement);
* ``stoi``: mean STOI over speakers (NaN where pystoi has too little speech).

A system whose "estimates" are the mixture itself (``mixture=wav.scp``, one
scp for every speaker) scores 0 dB SI-SDRi by definition.  ``score_sep``
writes, per system, ``OUT/NAME/per_utt.tsv`` (with the permutation) and
``OUT/NAME/summary.json`` (means over mixtures).  Signals at any sample rate
(STOI resamples internally); all files of a mixture must share one rate.
"""

from __future__ import annotations

import argparse
import json
import math
from itertools import permutations
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet2_ext.recipe.common import (
    RecipeError,
    progress,
    read_audio,
    read_table,
    run_cli,
    wav_path,
    write_text_atomic,
)
from espnet2_ext.recipe.score import si_sdr

METRICS = ("si_sdr", "si_sdri", "stoi")


def best_assignment(refs: Sequence[np.ndarray], ests: Sequence[np.ndarray]
                    ) -> Tuple[Tuple[int, ...], np.ndarray]:
    """``(perm, sdr)``: ``perm[s]`` is the estimate of reference ``s`` maximising the mean
    SI-SDR; ``sdr[s, t]`` the pairwise SI-SDR matrix (dB)."""
    if len(refs) != len(ests):
        raise ValueError(f"{len(refs)} references but {len(ests)} estimates")
    sdr = np.array([[si_sdr(r, e) for e in ests] for r in refs])
    n = len(refs)
    perm = max(permutations(range(n)), key=lambda p: sum(sdr[s, p[s]] for s in range(n)))
    return perm, sdr


def _stoi(ref: np.ndarray, est: np.ndarray, sr: int) -> float:
    from espnet2_ext.recipe.score import stoi

    return stoi(ref, est, extended=False, sr=sr)


def score_mixture(mix: np.ndarray, refs: List[np.ndarray], ests: List[np.ndarray], sr: int,
                  with_stoi: bool = True) -> Dict[str, object]:
    n = min([len(mix)] + [len(x) for x in refs + ests])
    mix = mix[:n]
    refs = [r[:n] for r in refs]
    ests = [e[:n] for e in ests]
    perm, sdr = best_assignment(refs, ests)
    base = [si_sdr(r, mix) for r in refs]
    s = [sdr[k, perm[k]] for k in range(len(refs))]
    row: Dict[str, object] = {
        "si_sdr": float(np.mean(s)),
        "si_sdri": float(np.mean([a - b for a, b in zip(s, base)])),
        "perm": perm,
    }
    if with_stoi:
        vals = [_stoi(refs[k], ests[perm[k]], sr) for k in range(len(refs))]
        vals = [v for v in vals if not math.isnan(v)]
        row["stoi"] = float(np.mean(vals)) if vals else math.nan
    else:
        row["stoi"] = math.nan
    return row


def _read(table: Dict[str, str], utt: str, scp: Path):
    if utt not in table:
        raise RecipeError(f"{scp} lacks utterance {utt}")
    return read_audio(wav_path(table[utt], str(scp)))


def score_system(mix_scp: Path, ref_scps: Sequence[Path], est_scps: Sequence[Path],
                 out_dir: Path, name: str = "", with_stoi: bool = True) -> Dict[str, float]:
    mix_t = read_table(mix_scp, "mixture scp")
    ref_t = [read_table(p, "reference scp") for p in ref_scps]
    est_t = [read_table(p, "estimate scp") for p in est_scps]
    rows: Dict[str, Dict[str, object]] = {}
    for utt in progress(sorted(mix_t), f"score {name or est_scps[0]}"):
        mix, sr = _read(mix_t, utt, mix_scp)
        refs, ests = [], []
        for tables, scps, out in ((ref_t, ref_scps, refs), (est_t, est_scps, ests)):
            for t, p in zip(tables, scps):
                x, sr2 = _read(t, utt, p)
                if sr2 != sr:
                    raise RecipeError(f"{utt}: {p} is at {sr2} Hz, the mixture at {sr} Hz")
                out.append(x)
        rows[utt] = score_mixture(mix, refs, ests, sr, with_stoi)
    lines = ["utt\t" + "\t".join(METRICS) + "\tperm"]
    lines += [u + "\t" + "\t".join(f"{r[m]:.4f}" for m in METRICS) + "\t"
              + ",".join(str(k + 1) for k in r["perm"]) for u, r in rows.items()]
    write_text_atomic(Path(out_dir) / "per_utt.tsv", "\n".join(lines) + "\n")
    summary: Dict[str, float] = {"num_utts": float(len(rows))}
    for m in METRICS:
        vals = [float(r[m]) for r in rows.values() if not math.isnan(float(r[m]))]
        summary[m] = float(np.mean(vals)) if vals else math.nan
    write_text_atomic(Path(out_dir) / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="score_sep", description=__doc__.split("\n\n")[0])
    p.add_argument("--mix_scp", required=True, help="the mixtures (wav.scp)")
    p.add_argument("--ref_scp", required=True, action="append",
                   help="reference of speaker n (give once per speaker, in order)")
    p.add_argument("--out_dir", required=True, help="scores go to OUT_DIR/NAME/")
    p.add_argument("--no_stoi", action="store_true", help="skip STOI (faster)")
    p.add_argument("systems", nargs="+", metavar="NAME=EST1_SCP[,EST2_SCP...]",
                   help="systems, e.g. base=exp/sep/base/test/spk1.scp,exp/sep/base/test/spk2.scp;"
                        " a single scp is used for every speaker (the mixture)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    refs = [Path(p) for p in a.ref_scp]
    for s in a.systems:
        if "=" not in s:
            raise RecipeError(f"system {s!r} is not NAME=EST_SCP[,EST_SCP...]")
        name, scps = s.split("=", 1)
        ests = [Path(p) for p in scps.split(",")]
        if len(ests) == 1:
            ests = ests * len(refs)
        if len(ests) != len(refs):
            raise RecipeError(f"{name}: {len(ests)} estimate scps for {len(refs)} references")
        summ = score_system(Path(a.mix_scp), refs, ests, Path(a.out_dir) / name, name,
                            not a.no_stoi)
        print(f"{name}: " + " ".join(f"{m}={summ[m]:.3f}" for m in METRICS), flush=True)
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
