"""The probe over a set of utterances: per-utterance measures, then summaries (no file I/O).

:func:`run_probe` returns one JSON-ready dict (the content of ``probe.json``
less the settings the CLI adds)::

    {"measures": [...], "utterances": [ids], "pairs": {id: paired id},
     "losses": {name: {"conf", "train_mode", "l2_normalize",
                       "summary": {layer: {measure: {mean, lo, hi, n}, "index": {...}}},
                       "values": {layer: {measure: [one value per utterance]}},
                       "optimize": {...} (when asked)}}}

Layers are JSON keys (strings).  Utterance ``i`` is paired with utterance
``i + 1`` (the last with the first) for the ``other`` measure.
"""

import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from espnet2_ext.probe.losses import ProbeLoss, seed_for
from espnet2_ext.probe.measures import ProbeConfig, measure_names, probe_utterance
from espnet2_ext.probe.optimize import OptimizeConfig, optimize_utterance, summarize_optimization
from espnet2_ext.probe.stats import DEFAULT_BOOTSTRAP, shortcut_index, t_interval
from espnet2_ext.ssl import parse_layers


def pair_index(i: int, n: int) -> Optional[int]:
    """The utterance paired with utterance ``i`` of ``n`` for ``other`` (None when ``n < 2``)."""
    return (i + 1) % n if n >= 2 else None


def _progress(it, total: int, desc: str, enabled: bool):
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, unit="utt", file=sys.stderr, dynamic_ncols=True)


def summarize(
    values: Dict[str, List[float]], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0, where: str = ""
) -> Dict[str, Dict[str, Optional[float]]]:
    """Per measure ``{mean, lo, hi, n}`` (t-interval) plus ``index`` (bootstrap).

    A non-finite value is a ValueError naming ``where`` and the measure.
    """
    out = {}
    for m, v in values.items():
        if v:
            try:
                out[m] = t_interval(v)
            except ValueError as e:
                raise ValueError(f"{where}, measure {m}: {e}") from None
    out["index"] = shortcut_index(values["envelope"], values["mismatched"], n_boot=n_boot, seed=seed)
    return out


def run_probe(
    up,
    losses: Sequence[ProbeLoss],
    utterances: Sequence[Tuple[str, torch.Tensor]],
    layers: Sequence[int],
    cfg: ProbeConfig,
    n_boot: int = DEFAULT_BOOTSTRAP,
    optimize: Optional[OptimizeConfig] = None,
    optimize_utts: int = 2,
    recognize: Optional[Callable[[torch.Tensor], str]] = None,
    transcripts: Optional[Dict[str, str]] = None,
    progress: bool = True,
) -> dict:
    """Measure every loss on every layer of ``up`` for each utterance ``(id, wav (T,))``, then summarise.

    With ``optimize``, the optimisation probe also runs on the first
    ``optimize_utts`` utterances for each loss (with ``recognize`` and
    ``transcripts``, the recognizer's WER too).
    """
    if not utterances:
        raise ValueError("run_probe: no utterances")
    if not losses:
        raise ValueError("run_probe: no losses")
    names = measure_names(cfg.shifts)
    n = len(utterances)
    values = {lo.name: {int(l): {m: [] for m in names} for l in layers} for lo in losses}
    pairs = {}
    for i, (utt, u) in enumerate(_progress(utterances, n, "position probe", progress)):
        j = pair_index(i, n)
        v = None if j is None else utterances[j][1]
        pairs[utt] = None if j is None else utterances[j][0]
        res = probe_utterance(up, losses, u, v, layers, cfg, utt)
        for loss_name, per_layer in res.items():
            for layer, row in per_layer.items():
                for m, val in row.items():
                    values[loss_name][layer][m].append(val)

    out = {"measures": names, "utterances": [u for u, _ in utterances], "pairs": pairs, "losses": {}}
    for lo in losses:
        entry = {
            "conf": lo.conf,
            "train_mode": lo.train_mode,
            "l2_normalize": lo.l2_normalize,
            "summary": {
                str(l): summarize(values[lo.name][int(l)], n_boot, seed_for(cfg.seed, "bootstrap", lo.name, l),
                                  where=f"loss {lo.name}, layer {l}")
                for l in layers
            },
            "values": {str(l): values[lo.name][int(l)] for l in layers},
        }
        out["losses"][lo.name] = entry

    if optimize is not None and optimize.steps > 0 and optimize_utts > 0:
        chosen = list(utterances[: min(optimize_utts, n)])
        todo = [(lo, utt, u) for lo in losses for utt, u in chosen]
        rows: Dict[str, List[dict]] = {lo.name: [] for lo in losses}
        for lo, utt, u in _progress(todo, len(todo), "optimisation probe", progress):
            text = transcripts.get(utt) if transcripts else None
            rows[lo.name].append(optimize_utterance(up, lo, u, optimize, utt, recognize, text))
        for lo in losses:
            out["losses"][lo.name]["optimize"] = {
                "layer": parse_layers(optimize.layer, up.num_layers)[0],
                "steps": optimize.steps,
                "lr": optimize.lr,
                "utterances": [utt for utt, _ in chosen],
                "summary": summarize_optimization(rows[lo.name]),
                "values": rows[lo.name],
            }
    return out
