"""Writing the probe's results: ``probe.json``, ``probe.md`` and ``probe.png`` (file I/O only).

Each file is replaced atomically (the recipes' :func:`~espnet2_ext.recipe.common.kaldi.write_text_atomic`
for the text files): a reader never sees one half written.

``probe.md`` is a Markdown fragment with no heading of its own (a report can
embed it under any heading): one paragraph on how to read it, one table per
loss (layer x measure, ``mean [lo, hi]``) and the optimisation table.  The
picture is not linked from it; embed ``probe.png`` next to it.
"""

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Optional

from espnet2_ext.recipe.common.kaldi import write_text_atomic

MEASURE_TITLES = {
    "self": "self",
    "other": "other content",
    "envelope": "envelope noise",
    "silence": "silence",
    "white": "white noise",
    "mismatched": "mismatched length",
}


def fmt(x: Optional[float]) -> str:
    """Three significant digits; ``n/a`` for None/NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0:
        return "0"
    return f"{x:.3g}"


def cell(stat: dict) -> str:
    """``mean [lo, hi]`` (``mean`` alone without an interval)."""
    if stat.get("lo") is None:
        return fmt(stat.get("mean"))
    return f"{fmt(stat['mean'])} [{fmt(stat['lo'])}, {fmt(stat['hi'])}]"


def _title(measure: str) -> str:
    if measure.startswith("shift_"):
        return f"shift {measure[len('shift_'):]}"
    return MEASURE_TITLES.get(measure, measure)


def markdown(result: dict) -> str:
    """The Markdown fragment of a probe result (see the module doc)."""
    s = result["settings"]
    n = len(result["utterances"])
    mode = "training" if s["mode"] == "train" else "eval"
    lines = [
        f"Positional-shortcut probe of upstream `{s['upstream']}` on {n} utterance{'s' if n != 1 else ''}, "
        f"losses in {mode} mode (seed {s['seed']}).  Each cell: mean [95 % interval] over utterances "
        f"(Student-t); **index** = 1 - envelope / mismatched (ratio of means over utterances; percentile "
        f"bootstrap interval, {s['bootstrap']} resamples): 1 = putting a content-free signal at the reference's "
        f"positions removes its whole loss (only position counts), 0 = position does not matter.  "
        f"Shifts in hops of {s['hop_length']} samples; the mismatched-length signal has "
        f"{s['mismatch']:g} x the frames of the utterance added on each side.",
        "",
    ]
    measures = result["measures"]
    header = ["layer", "index"] + [_title(m) for m in measures]
    for name, entry in result["losses"].items():
        opts = ", ".join(f"{k}={v}" for k, v in sorted(entry["conf"].items()))
        lines.append(f"**{name}** (l2_normalize={str(entry['l2_normalize']).lower()}{', ' + opts if opts else ''})")
        lines.append("")
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---:"] + ["---"] * (len(header) - 1)) + "|")
        for layer, summ in entry["summary"].items():
            row = [layer, cell(summ["index"])] + [cell(summ[m]) if m in summ else "n/a" for m in measures]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    opt = [(name, e["optimize"]) for name, e in result["losses"].items() if "optimize" in e]
    if opt:
        o0 = opt[0][1]
        with_wer = all("wer_end" in o["summary"] for _, o in opt)
        lines.append(
            f"**Optimisation probe**: a content-free start (envelope noise of u) optimised with Adam on the "
            f"waveform for {o0['steps']} steps (lr {o0['lr']:g}) against each loss at layer {o0['layer']}, on "
            f"{len(o0['utterances'])} utterance(s).  Loss against a fixed draw of the reference; content: "
            f"mean log-mel distance to u (dB, lower = closer)"
            + ("; WER of the independent recognizer (clean u in the last column)." if with_wer else ".")
        )
        lines.append("")
        head = ["loss", "loss start", "loss end", "loss drop", "log-mel start", "log-mel end"]
        if with_wer:
            head += ["WER start", "WER end", "WER clean"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for name, o in opt:
            sm = o["summary"]
            drop = "n/a" if sm["loss_drop"] is None else f"{100 * sm['loss_drop']:.1f} %"
            row = [name, fmt(sm["loss_start"]), fmt(sm["loss_end"]), drop,
                   f"{sm['logmel_start']:.2f}", f"{sm['logmel_end']:.2f}"]
            if with_wer:
                row += [f"{sm[k]:.1f} %" if sm[k] is not None else "n/a" for k in ("wer_start", "wer_end", "wer_ref")]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    """``probe.png``: index per layer (95 % interval as error bars), one line per loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for k, (name, entry) in enumerate(result["losses"].items()):
        layers = [int(l) for l in entry["summary"]]
        idx = [entry["summary"][str(l)]["index"] for l in layers]
        x = [l + (k - (len(result["losses"]) - 1) / 2) * 0.06 for l in layers]  # dodge the error bars
        y = [math.nan if i["mean"] is None else i["mean"] for i in idx]
        lo = [0.0 if i["lo"] is None else max(0.0, i["mean"] - i["lo"]) for i in idx]
        hi = [0.0 if i["hi"] is None else max(0.0, i["hi"] - i["mean"]) for i in idx]
        ax.errorbar(x, y, yerr=[lo, hi], marker="o", capsize=3, label=name)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("layer (0 = transformer input)")
    ax.set_ylabel("positional-shortcut index")
    s = result["settings"]
    ax.set_title(f"{s['upstream']}: {len(result['utterances'])} utterances, {s['mode']} mode", fontsize=10)
    layers_all = sorted({int(l) for e in result["losses"].values() for l in e["summary"]})
    ax.set_xticks(layers_all)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_outputs(result: dict, out_dir: Path) -> None:
    """Write ``probe.json``, ``probe.md`` and ``probe.png`` into ``out_dir``."""
    out_dir = Path(out_dir)
    write_text_atomic(out_dir / "probe.json", json.dumps(result, indent=1, allow_nan=False) + "\n")
    write_text_atomic(out_dir / "probe.md", markdown(result))
    plot(result, out_dir / "probe.png")
