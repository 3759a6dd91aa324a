"""The convergence plot of the report: validation curves per epoch of every model.

``curves`` maps a row of the report (``base``, a fine-tuning loss) to the
curves of its models (one per seed), each ``{stat: {epoch: value}}`` as
:func:`.train_log.parse_train_log` reads them.  A row with several seeds is
drawn as the mean over seeds with a band from the minimum to the maximum.

Left: each row's own objective (``loss``), divided by the absolute mean of
its first epoch; right: the metric every model logs in common (``common``,
``si_snr_loss``: the fine-tune configs log it with weight 0), on which the
fine-tuned rows start at epoch 0 from the base model's best validation value
(the model they start from).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple


def band(curves: Sequence[Dict[int, float]]) -> Tuple[List[int], List[float], List[float], List[float]]:
    """``(epochs, mean, min, max)`` over the curves, at the epochs every curve has."""
    if not curves:
        return [], [], [], []
    epochs = sorted(set.intersection(*(set(c) for c in curves)))
    mean = [sum(c[e] for c in curves) / len(curves) for e in epochs]
    return epochs, mean, [min(c[e] for c in curves) for e in epochs], [max(c[e] for c in curves) for e in epochs]


def _draw(ax, name: str, curves: List[Dict[int, float]], color) -> None:
    ep, mean, lo, hi = band(curves)
    if not ep:
        return
    label = name if len(curves) == 1 else f"{name} (mean of {len(curves)} seeds, band: min-max)"
    ax.plot(ep, mean, marker="o", ms=3, label=label, color=color)
    if len(curves) > 1:
        ax.fill_between(ep, lo, hi, alpha=0.2, color=color)


def plot_convergence(curves: Dict[str, List[Dict[str, Dict[int, float]]]], out: Path,
                     common: str = "si_snr_loss", start: Optional[float] = None) -> None:
    """Write the plot (see the module doc); ``start``: the common metric at epoch 0
    of every row but ``base`` (the base model's best validation value)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    has_common = any(common in c for runs in curves.values() for c in runs)
    fig, axes = plt.subplots(1, 2 if has_common else 1, figsize=(12 if has_common else 6, 4.2),
                             squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ax = axes[0][0]
    for i, (name, runs) in enumerate(curves.items()):
        own = [r["loss"] for r in runs if r.get("loss")]
        if not own:
            continue
        first = sum(c[min(c)] for c in own) / len(own)
        scale = abs(first) if first else 1.0
        _draw(ax, name, [{e: v / scale for e, v in c.items()} for c in own], colors[i % len(colors)])
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("validation loss / |first epoch|")
    ax.set_title("training objective (valid)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if has_common:
        ax = axes[0][1]
        for i, (name, runs) in enumerate(curves.items()):
            cs = [dict(r[common]) for r in runs if r.get(common)]
            if not cs:
                continue
            if start is not None and name != "base":
                for c in cs:
                    c.setdefault(0, start)
            _draw(ax, name, cs, colors[i % len(colors)])
        ax.set_xlabel("epoch (fine-tuned rows: 0 = the base model they start from)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"validation {common}")
        ax.set_title("common signal metric (valid, lower is better)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
