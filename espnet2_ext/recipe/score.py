"""Signal scores of enhanced speech against the reference (recipe stage 5).

SI-SDR (dB, zero-mean, scale-invariant), wide-band PESQ (ITU-T P.862.2),
STOI and extended STOI.  ``score_enh`` scores one or more ``NAME=EST_SCP``
systems against one reference scp and writes, per system,
``OUT/NAME/per_utt.tsv`` (one row per utterance) and ``OUT/NAME/summary.json``
(the means over utterances; PESQ over the utterances it could score).
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from espnet2_ext.recipe.common import (
    SAMPLE_RATE,
    RecipeError,
    progress,
    read_audio,
    read_table,
    run_cli,
    wav_path,
    write_text_atomic,
)

METRICS = ("si_sdr", "pesq", "stoi", "estoi")


def si_sdr(ref: np.ndarray, est: np.ndarray, eps: float = 1e-12) -> float:
    """Scale-invariant SDR in dB (Le Roux et al., 2019), both signals zero-meaned."""
    ref = np.asarray(ref, dtype=np.float64)
    est = np.asarray(est, dtype=np.float64)
    if ref.shape != est.shape:
        raise ValueError(f"shape mismatch {ref.shape} vs {est.shape}")
    ref = ref - ref.mean()
    est = est - est.mean()
    target = (np.dot(est, ref) / (np.dot(ref, ref) + eps)) * ref
    noise = est - target
    return float(10.0 * np.log10((np.dot(target, target) + eps) / (np.dot(noise, noise) + eps)))


def pesq_wb(ref: np.ndarray, est: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    """Wide-band PESQ (MOS-LQO); NaN when PESQ cannot score the pair (e.g. no speech)."""
    from pesq import pesq

    try:
        return float(pesq(sr, ref.astype(np.float64), est.astype(np.float64), "wb"))
    except Exception:  # pesq raises on silent/too short input
        return math.nan


def stoi(ref: np.ndarray, est: np.ndarray, extended: bool = False, sr: int = SAMPLE_RATE) -> float:
    """(E)STOI; NaN when the speech part is too short for it (pystoi needs 30 frames
    of 25.6 ms after removing silent frames, i.e. about 0.4 s of speech)."""
    from pystoi import stoi as _stoi

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        v = float(_stoi(ref.astype(np.float64), est.astype(np.float64), sr, extended=extended))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return math.nan
    return v


def score_pair(ref: np.ndarray, est: np.ndarray) -> Dict[str, float]:
    n = min(len(ref), len(est))
    ref, est = ref[:n], est[:n]
    return {
        "si_sdr": si_sdr(ref, est),
        "pesq": pesq_wb(ref, est),
        "stoi": stoi(ref, est, extended=False),
        "estoi": stoi(ref, est, extended=True),
    }


def summarize(rows: Dict[str, Dict[str, float]]) -> Dict[str, float]:
    out: Dict[str, float] = {"num_utts": float(len(rows))}
    for m in METRICS:
        vals = [r[m] for r in rows.values() if not math.isnan(r[m])]
        out[m] = float(np.mean(vals)) if vals else math.nan
        out[f"{m}_n"] = float(len(vals))
    return out


def score_system(ref_scp: Path, est_scp: Path, out_dir: Path, name: str = "") -> Dict[str, float]:
    ref_table = read_table(ref_scp, "reference scp")
    est_table = read_table(est_scp, "estimate scp")
    missing = sorted(set(ref_table) - set(est_table))
    if missing:
        raise RecipeError(f"{est_scp} lacks {len(missing)} utterance(s) of {ref_scp}, "
                          f"e.g. {missing[0]}")
    rows: Dict[str, Dict[str, float]] = {}
    for utt in progress(sorted(ref_table), f"score {name or est_scp}"):
        ref, sr1 = read_audio(wav_path(ref_table[utt], str(ref_scp)))
        est, sr2 = read_audio(wav_path(est_table[utt], str(est_scp)))
        if sr1 != SAMPLE_RATE or sr2 != SAMPLE_RATE:
            raise RecipeError(f"{utt}: sample rates {sr1}/{sr2}, expected {SAMPLE_RATE}")
        rows[utt] = score_pair(ref, est)
    out_dir = Path(out_dir)
    lines = ["utt\t" + "\t".join(METRICS)]
    lines += [utt + "\t" + "\t".join(f"{r[m]:.4f}" for m in METRICS) for utt, r in rows.items()]
    write_text_atomic(out_dir / "per_utt.tsv", "\n".join(lines) + "\n")
    summary = summarize(rows)
    write_text_atomic(out_dir / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="score_enh", description=__doc__.split("\n\n")[0])
    p.add_argument("--ref_scp", required=True, help="reference speech scp (spk1.scp)")
    p.add_argument("--out_dir", required=True, help="scores go to OUT_DIR/NAME/")
    p.add_argument("systems", nargs="+", metavar="NAME=EST_SCP",
                   help="systems to score, e.g. noisy=data/test_noisy/wav.scp")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    systems: List[tuple] = []
    for s in a.systems:
        if "=" not in s:
            raise RecipeError(f"system {s!r} is not NAME=EST_SCP")
        name, scp = s.split("=", 1)
        systems.append((name, Path(scp)))
    for name, scp in systems:
        summ = score_system(Path(a.ref_scp), scp, Path(a.out_dir) / name, name)
        print(f"{name}: " + " ".join(f"{m}={summ[m]:.3f}" for m in METRICS), flush=True)
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
