"""Signal scores of N estimated speakers against N references (stage 5).

Per utterance the estimates are assigned to the references by the permutation
of highest mean SI-SDR (as PIT over SI-SNR does in training; one speaker: the
identity), then every metric is averaged over the speakers:

* ``si_sdr``: scale-invariant SDR in dB (zero-mean; Le Roux et al., 2019);
* ``si_sdri``: minus the SI-SDR of the unprocessed mixture against the same
  reference (needs ``--mix_scp``);
* ``pesq``: wide-band PESQ (ITU-T P.862.2, 16 kHz only);
* ``stoi``, ``estoi``: (extended) STOI; a speaker too short for it (about
  0.4 s of speech) gives NaN and is left out of the mean.

Default metrics: ``si_sdr pesq stoi estoi`` for one speaker, ``si_sdr si_sdri
stoi`` for mixtures.  ``score_enh`` scores ``NAME=EST1[,EST2...]`` systems (a
single scp serves every speaker: the mixture itself scores 0 dB SI-SDRi) and
writes, per system, ``OUT/NAME/per_utt.tsv`` (one row per utterance, with the
permutation: ``perm[k]`` is the estimate of reference k, from 1) and
``OUT/NAME/summary.json`` (means over utterances, NaN left out, and
``METRIC_n``, how many utterances each mean is over).  All files of an
utterance must share one sample rate.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from itertools import permutations
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet2_ext.recipe.common.audio import read_audio
from espnet2_ext.recipe.common.cli import RecipeError, progress, run_cli
from espnet2_ext.recipe.common.kaldi import read_table, wav_path, write_text_atomic

METRICS = ("si_sdr", "si_sdri", "pesq", "stoi", "estoi")
DEFAULT_METRICS = {1: ("si_sdr", "pesq", "stoi", "estoi"), 2: ("si_sdr", "si_sdri", "stoi")}


def default_metrics(num_spk: int) -> Tuple[str, ...]:
    return DEFAULT_METRICS[min(num_spk, 2)]


def si_sdr(ref: np.ndarray, est: np.ndarray, eps: float = 1e-12) -> float:
    """Scale-invariant SDR in dB, both signals zero-meaned."""
    ref = np.asarray(ref, dtype=np.float64)
    est = np.asarray(est, dtype=np.float64)
    if ref.shape != est.shape:
        raise ValueError(f"shape mismatch {ref.shape} vs {est.shape}")
    ref = ref - ref.mean()
    est = est - est.mean()
    target = (np.dot(est, ref) / (np.dot(ref, ref) + eps)) * ref
    noise = est - target
    return float(10.0 * np.log10((np.dot(target, target) + eps) / (np.dot(noise, noise) + eps)))


def pesq_wb(ref: np.ndarray, est: np.ndarray, sr: int = 16000) -> float:
    """Wide-band PESQ (MOS-LQO); NaN when PESQ cannot score the pair (e.g. no speech)."""
    from pesq import pesq

    if sr != 16000:
        raise RecipeError(f"wide-band PESQ needs 16 kHz signals, got {sr} Hz (leave pesq out of --metrics)")
    try:
        return float(pesq(sr, ref.astype(np.float64), est.astype(np.float64), "wb"))
    except Exception:  # pesq raises on silent/too short input
        return math.nan


def stoi(ref: np.ndarray, est: np.ndarray, extended: bool = False, sr: int = 16000) -> float:
    """(E)STOI; NaN when the speech part is too short for it (pystoi needs 30 frames
    of 25.6 ms after removing silent frames, i.e. about 0.4 s of speech)."""
    from pystoi import stoi as _stoi

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        v = float(_stoi(ref.astype(np.float64), est.astype(np.float64), sr, extended=extended))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return math.nan
    return v


PER_SPEAKER = {
    "si_sdr": lambda r, e, sr: si_sdr(r, e),
    "pesq": pesq_wb,
    "stoi": lambda r, e, sr: stoi(r, e, False, sr),
    "estoi": lambda r, e, sr: stoi(r, e, True, sr),
}


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


def _mean(vals: Sequence[float]) -> float:
    vals = [v for v in vals if not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def score_mixture(refs: List[np.ndarray], ests: List[np.ndarray], sr: int,
                  metrics: Sequence[str], mix: Optional[np.ndarray] = None) -> Dict[str, object]:
    """The metrics of one utterance (see the module doc), and ``perm``."""
    sigs = refs + ests + ([mix] if "si_sdri" in metrics else [])
    n = min(len(x) for x in sigs)
    refs, ests = [r[:n] for r in refs], [e[:n] for e in ests]
    perm, sdr = best_assignment(refs, ests)
    row: Dict[str, object] = {"perm": perm}
    for m in metrics:
        if m == "si_sdr":
            row[m] = _mean([sdr[k, perm[k]] for k in range(len(refs))])
        elif m == "si_sdri":
            if mix is None:
                raise RecipeError("si_sdri needs the mixture (--mix_scp)")
            row[m] = _mean([sdr[k, perm[k]] - si_sdr(r, mix[:n]) for k, r in enumerate(refs)])
        else:
            row[m] = _mean([PER_SPEAKER[m](r, ests[perm[k]], sr) for k, r in enumerate(refs)])
    return row


def _read(table: Dict[str, str], utt: str, scp: Path):
    if utt not in table:
        raise RecipeError(f"{scp} lacks utterance {utt}")
    return read_audio(wav_path(table[utt], str(scp)))


def score_system(ref_scps: Sequence[Path], est_scps: Sequence[Path], out_dir: Path,
                 metrics: Sequence[str], mix_scp: Optional[Path] = None, name: str = ""
                 ) -> Dict[str, float]:
    """Score every utterance of ``ref_scps[0]``; writes ``per_utt.tsv`` and
    ``summary.json`` into ``out_dir`` and returns the summary."""
    ref_t = [read_table(p, "reference scp") for p in ref_scps]
    est_t = [read_table(p, "estimate scp") for p in est_scps]
    mix_t = read_table(mix_scp, "mixture scp") if mix_scp and "si_sdri" in metrics else None
    missing = sorted(set(ref_t[0]) - set(est_t[0]))
    if missing:
        raise RecipeError(f"{est_scps[0]} lacks {len(missing)} utterance(s) of {ref_scps[0]}, "
                          f"e.g. {missing[0]}")
    rows: Dict[str, Dict[str, object]] = {}
    for utt in progress(sorted(ref_t[0]), f"score {name or est_scps[0]}"):
        sigs, rates = [], set()
        for t, p in zip(ref_t + est_t, list(ref_scps) + list(est_scps)):
            x, sr = _read(t, utt, p)
            sigs.append(x)
            rates.add(sr)
        mix = None
        if mix_t is not None:
            mix, sr = _read(mix_t, utt, mix_scp)
            rates.add(sr)
        if len(rates) > 1:
            raise RecipeError(f"{utt}: the files are at different sample rates {sorted(rates)}")
        k = len(ref_scps)
        rows[utt] = score_mixture(sigs[:k], sigs[k:], rates.pop(), metrics, mix)
    lines = ["utt\t" + "\t".join(metrics) + "\tperm"]
    lines += [u + "\t" + "\t".join(f"{r[m]:.4f}" for m in metrics) + "\t"
              + ",".join(str(k + 1) for k in r["perm"]) for u, r in rows.items()]
    write_text_atomic(Path(out_dir) / "per_utt.tsv", "\n".join(lines) + "\n")
    summary: Dict[str, float] = {"num_utts": float(len(rows))}
    for m in metrics:
        summary[m] = _mean([float(r[m]) for r in rows.values()])
        summary[f"{m}_n"] = float(sum(not math.isnan(float(r[m])) for r in rows.values()))
    write_text_atomic(Path(out_dir) / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary


def parse_system(spec: str, num_refs: int) -> Tuple[str, List[Path]]:
    """``NAME=EST_SCP[,EST_SCP...]`` -> (name, one estimate scp per reference);
    a single scp stands for every reference (e.g. the unprocessed mixture)."""
    if "=" not in spec:
        raise RecipeError(f"system {spec!r} is not NAME=EST_SCP[,EST_SCP...]")
    name, scps = spec.split("=", 1)
    ests = [Path(p) for p in scps.split(",")]
    ests = ests * num_refs if len(ests) == 1 else ests
    if len(ests) != num_refs:
        raise RecipeError(f"{name}: {len(ests)} estimate scps for {num_refs} references")
    return name, ests


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="score_enh", description=__doc__.split("\n\n")[0])
    p.add_argument("--ref_scp", required=True, action="append",
                   help="reference of speaker n (give once per speaker, in order)")
    p.add_argument("--mix_scp", default="", help="the mixtures (wav.scp): for si_sdri")
    p.add_argument("--out_dir", required=True, help="scores go to OUT_DIR/NAME/")
    p.add_argument("--metrics", default="",
                   help=f"any of {' '.join(METRICS)} (default: see the module doc)")
    p.add_argument("--no_stoi", action="store_true", help="leave stoi and estoi out (faster)")
    p.add_argument("systems", nargs="+", metavar="NAME=EST1_SCP[,EST2_SCP...]",
                   help="systems, e.g. base=exp/enhanced/base/test/spk1.scp,exp/enhanced/base/test/spk2.scp;"
                        " a single scp is used for every speaker (the mixture)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    refs = [Path(p) for p in a.ref_scp]
    metrics = a.metrics.split() or list(default_metrics(len(refs)))
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise RecipeError(f"unknown metric(s) {' '.join(unknown)}; known: {' '.join(METRICS)}")
    if a.no_stoi:
        metrics = [m for m in metrics if m not in ("stoi", "estoi")]
    if "si_sdri" in metrics and not a.mix_scp:
        raise RecipeError("si_sdri needs the mixtures: give --mix_scp")
    for s in a.systems:
        name, ests = parse_system(s, len(refs))
        summ = score_system(refs, ests, Path(a.out_dir) / name, metrics,
                            Path(a.mix_scp) if a.mix_scp else None, name)
        print(f"{name}: " + " ".join(f"{m}={summ[m]:.3f}" for m in metrics), flush=True)
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
