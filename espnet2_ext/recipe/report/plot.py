"""The convergence plot of the report: validation loss per epoch of every model."""

from __future__ import annotations

from pathlib import Path
from typing import Dict


def plot_convergence(curves: Dict[str, Dict[str, Dict[int, float]]], out: Path,
                     common: str = "si_snr_loss") -> None:
    """Left: each model's own validation loss (normalised to its first epoch);
    right: the validation loss every model logs in common (``common``), if any."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    has_common = any(common in c for c in curves.values())
    fig, axes = plt.subplots(1, 2 if has_common else 1, figsize=(11 if has_common else 6, 4),
                             squeeze=False)
    ax = axes[0][0]
    for name, stats in curves.items():
        loss = stats.get("loss", {})
        if not loss:
            continue
        ep = sorted(loss)
        v0 = loss[ep[0]]
        scale = abs(v0) if v0 else 1.0
        ax.plot(ep, [loss[e] / scale for e in ep], marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("validation loss / |first epoch|")
    ax.set_title("training objective (valid)")
    ax.grid(alpha=0.3)
    ax.legend()
    if has_common:
        ax = axes[0][1]
        for name, stats in curves.items():
            c = stats.get(common, {})
            if c:
                ep = sorted(c)
                ax.plot(ep, [c[e] for e in ep], marker="o", label=name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"validation {common}")
        ax.set_title("common signal metric (valid, lower is better)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
