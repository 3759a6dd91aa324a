"""Representation distances of the front-ends' outputs to the clean reference (stage 5).

Per utterance, what the fine-tuning losses measure, on the test set, with the
criterions' own code in eval mode (no training-time perturbation):

* ``repr_mse``: ``ssl_mse`` -- the frame-wise MSE between the upstream's
  features of the estimate and of the reference;
* ``repr_sdtw``: ``ssl_sdtw`` -- the soft-DTW divergence between the two
  feature sequences (L2-normalised frames, ``gamma`` 0.1 unless told
  otherwise), 0 for identical signals.

Both on the upstream's last layer unless ``--layers`` says otherwise; lower
is closer.  With N speakers the estimates are assigned to the references by
the permutation of best SI-SDR (as in :mod:`.signals`) and each distance is
the mean over speakers.  ``score_repr`` scores ``NAME=EST1[,EST2...]``
systems and writes, per system, ``OUT/NAME/per_utt.tsv`` and
``OUT/NAME/summary.json`` (means over utterances and ``num_utts``).
Criterions are built through :mod:`espnet2_ext.enh.loss.criterions` (which
loads ESPnet's loss base class) inside :func:`make_criteria` only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError, progress, run_cli
from espnet2_ext.recipe.common.kaldi import read_table, wav_path, write_text_atomic

METRICS = ("repr_mse", "repr_sdtw")
CRITERIA = {"repr_mse": "ssl_mse", "repr_sdtw": "ssl_sdtw"}


def make_criteria(upstream: str, layers="last", sdtw_conf: Optional[dict] = None) -> Dict[str, object]:
    """The two criterions (eval mode) on ``upstream``: ``{metric: criterion}``."""
    from espnet2_ext.enh.loss.criterions.ssl import SSLMSELoss, SSLSoftDTWLoss

    try:
        out = {"repr_mse": SSLMSELoss(upstream=upstream, layers=layers),
               "repr_sdtw": SSLSoftDTWLoss(upstream=upstream, layers=layers, **(sdtw_conf or {}))}
    except (TypeError, ValueError) as e:
        raise RecipeError(f"cannot build the distance criterions on {upstream!r}: {e}") from None
    for c in out.values():
        c.eval()
    return out


def distances(criteria: Dict[str, object], refs: Sequence, ests: Sequence) -> Dict[str, float]:
    """Each distance of one utterance: ``refs`` and ``ests`` are N float32 arrays, already
    in the order of the assignment; cut to the shortest; mean over speakers."""
    import numpy as np
    import torch

    from espnet2_ext.ssl.errors import SSLUpstreamError

    n = min(len(x) for x in list(refs) + list(ests))
    out = {}
    with torch.no_grad():
        for metric, crit in criteria.items():
            vals = []
            for r, e in zip(refs, ests):
                ref = torch.from_numpy(np.ascontiguousarray(r[:n]))[None]
                est = torch.from_numpy(np.ascontiguousarray(e[:n]))[None]
                try:
                    vals.append(float(crit(ref, est, torch.tensor([n]))[0]))
                except (ValueError, SSLUpstreamError) as err:  # too short, an upstream that cannot load
                    raise RecipeError(f"{metric}: {err}") from None
            out[metric] = float(np.mean(vals))
    return out


def score_system(criteria: Dict[str, object], ref_scps: Sequence[Path], est_scps: Sequence[Path],
                 out_dir: Path, name: str = "") -> Dict[str, float]:
    """Distances of every utterance of ``ref_scps[0]``; ``per_utt.tsv`` and ``summary.json``
    into ``out_dir``; returns the summary."""
    import numpy as np

    from espnet2_ext.recipe.common.audio import read_audio
    from espnet2_ext.recipe.scoring.signals import best_assignment

    ref_t = [read_table(p, "reference scp") for p in ref_scps]
    est_t = [read_table(p, "estimate scp") for p in est_scps]
    missing = sorted(set(ref_t[0]) - set(est_t[0]))
    if missing:
        raise RecipeError(f"{est_scps[0]} lacks {len(missing)} utterance(s) of {ref_scps[0]}, e.g. {missing[0]}")
    rows: Dict[str, Dict[str, float]] = {}
    for utt in progress(sorted(ref_t[0]), f"distances {name or est_scps[0]}"):
        sigs = []
        for t, p in zip(ref_t + est_t, list(ref_scps) + list(est_scps)):
            if utt not in t:
                raise RecipeError(f"{p} lacks utterance {utt}")
            x, sr = read_audio(wav_path(t[utt], str(p)))
            if sr != 16000:
                raise RecipeError(f"{p}: {utt} has sample rate {sr}; the upstreams take 16 kHz")
            sigs.append(x)
        k = len(ref_scps)
        refs, ests = sigs[:k], sigs[k:]
        n = min(len(x) for x in sigs)
        perm = best_assignment([r[:n] for r in refs], [e[:n] for e in ests])[0] if k > 1 else (0,)
        rows[utt] = distances(criteria, refs, [ests[perm[s]] for s in range(k)])
    lines = ["utt\t" + "\t".join(METRICS)]
    lines += [u + "\t" + "\t".join(f"{r[m]:.6g}" for m in METRICS) for u, r in rows.items()]
    write_text_atomic(Path(out_dir) / "per_utt.tsv", "\n".join(lines) + "\n")
    summary: Dict[str, float] = {"num_utts": float(len(rows))}
    for m in METRICS:
        summary[m] = float(np.mean([r[m] for r in rows.values()]))
    write_text_atomic(Path(out_dir) / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="score_repr", description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="the encoder of the distances (the run's --upstream)")
    p.add_argument("--layers", default="last", help="last, an index, or indices 'a,b' (averaged)")
    p.add_argument("--sdtw_conf", default="{}", help="JSON options of ssl_sdtw (gamma, bandwidth, ...)")
    p.add_argument("--ref_scp", required=True, action="append",
                   help="reference of speaker n (give once per speaker, in order)")
    p.add_argument("--out_dir", required=True, help="scores go to OUT_DIR/NAME/")
    p.add_argument("systems", nargs="+", metavar="NAME=EST1_SCP[,EST2_SCP...]",
                   help="systems; a single scp is used for every speaker (the mixture)")
    return p


def _layers(text: str):
    text = text.strip()
    if text == "last":
        return text
    try:
        idx = [int(v) for v in text.split(",")]
    except ValueError:
        raise RecipeError(f"--layers: expected last, an index or indices 'a,b', got {text!r}") from None
    return idx[0] if len(idx) == 1 else idx


def main(argv: Optional[Sequence[str]] = None) -> int:
    from espnet2_ext.recipe.scoring.signals import parse_system

    a = get_parser().parse_args(argv)
    try:
        sdtw_conf = json.loads(a.sdtw_conf)
    except json.JSONDecodeError as e:
        raise RecipeError(f"--sdtw_conf is not valid JSON ({e})") from None
    if not isinstance(sdtw_conf, dict):
        raise RecipeError("--sdtw_conf must be a JSON object")
    refs = [Path(p) for p in a.ref_scp]
    systems = [parse_system(s, len(refs)) for s in a.systems]
    criteria = make_criteria(a.upstream, _layers(a.layers), sdtw_conf)
    for name, ests in systems:
        summ = score_system(criteria, refs, ests, Path(a.out_dir) / name, name)
        print(f"{name}: " + " ".join(f"{m}={summ[m]:.4g}" for m in METRICS), flush=True)
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
