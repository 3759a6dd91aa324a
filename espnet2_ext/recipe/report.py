"""RESULTS.md and the convergence plot of the recipe (stage 8).

Reads, for the evaluation set (``--set``, default ``test``):

* ``EXP/scores/SET/FE/summary.json``            signal scores (stage 5);
* ``EXP/asr_sphinx/SET/FE/wer.json``            independent ASR WER (stage 6);
* ``EXP/asr_superb/decode_SET/FE/wer.json``     SUPERB-style downstream WER (stage 7);
* ``EXP/pr_superb/decode_SET/FE/per.json``      SUPERB-style phoneme recognition PER
  (stage 7 with ``--downstream_tasks pr``; the column appears only when present);
* ``EXP/enh_FE/train.log``                      ESPnet's per-epoch ``[valid]`` losses.

and writes one table (a row per front-end, a ``clean`` reference row for the
WERs) plus a PNG of the validation loss per epoch of every model.  A result
counts only when the step that wrote it finished (its ``.done`` marker, which
the stage script writes last, exists): an interrupted step's partial outputs
print as ``-``.  With several
sets (``--set "test_seen test_unseen"``) every metric has one column per set,
labelled by the set name without a leading ``test_`` (``seen``, ``unseen``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_ext.recipe.common import RecipeError, run_cli, write_text_atomic

COLUMNS = [
    ("SI-SDR [dB]", "scores", "si_sdr", "{:.2f}"),
    ("PESQ", "scores", "pesq", "{:.2f}"),
    ("STOI", "scores", "stoi", "{:.3f}"),
    ("ESTOI", "scores", "estoi", "{:.3f}"),
    ("WER indep. [%]", "sphinx", "wer", "{:.1f}"),
    ("WER downstream [%]", "superb", "wer", "{:.1f}"),
]
PR_COLUMN = ("PER downstream [%]", "superb_pr", "wer", "{:.1f}")

_EPOCH = re.compile(r"(\d+)epoch results: (.*)$")
_SECTION = re.compile(r"\[(\w+)\] ")
_KV = re.compile(r"([\w./-]+)=([-+0-9.eE]+|nan|inf)(?=,|$| )")


def train_logs(model_dir: Path) -> List[Path]:
    """``train.log`` of a model dir and the logs of earlier (resumed) runs, oldest first.

    The stage script renames the log of an interrupted run to ``train.log.<time>``.
    """
    model_dir = Path(model_dir)
    old = sorted(model_dir.glob("train.log.*"), key=lambda p: p.name)
    cur = [model_dir / "train.log"] if (model_dir / "train.log").is_file() else []
    return old + cur


def parse_train_log(path) -> Dict[str, Dict[int, float]]:
    """``{stat: {epoch: value}}`` of the ``[valid]`` sections of ESPnet train log(s).

    ``path`` is one log or a list of logs (oldest first); when training
    resumed, later lines for the same epoch win.
    """
    out: Dict[str, Dict[int, float]] = {}
    paths = [Path(p) for p in path] if isinstance(path, (list, tuple)) else [Path(path)]
    lines: List[str] = []
    for p in paths:
        if p.is_file():
            lines += p.read_text(encoding="utf-8", errors="replace").splitlines()
    for line in lines:
        m = _EPOCH.search(line)
        if not m:
            continue
        epoch, rest = int(m.group(1)), m.group(2)
        parts = _SECTION.split(" " + rest)
        # parts = [prefix, name1, body1, name2, body2, ...]
        for name, body in zip(parts[1::2], parts[2::2]):
            if name != "valid":
                continue
            for k, v in _KV.findall(body):
                try:
                    out.setdefault(k, {})[epoch] = float(v)
                except ValueError:
                    pass
    return out


def load_finished(path: Path, markers: Sequence[Path]) -> Optional[Dict[str, float]]:
    """The JSON at ``path`` if one of ``markers`` (the ``.done`` files of the
    step that writes it) exists, else None (missing, unfinished or unreadable)."""
    if not any(Path(m).is_file() for m in markers):
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _sources(exp: Path, eval_set: str, fe: str) -> Dict[str, Path]:
    return {
        "scores": exp / "scores" / eval_set / fe / "summary.json",
        "sphinx": exp / "asr_sphinx" / eval_set / fe / "wer.json",
        "superb": exp / "asr_superb" / f"decode_{eval_set}" / fe / "wer.json",
        "superb_pr": exp / "pr_superb" / f"decode_{eval_set}" / fe / "per.json",
    }


def step_markers(src: str, result: Path) -> List[Path]:
    """The markers of the step that writes ``result`` of source ``src``: scores,
    one step per set; pocketsphinx, one per set and front-end; downstream
    decoding, one per set (``decode_SET``) or one for all sets (``decode_sets``)."""
    if src == "scores":
        return [result.parent.parent / ".done"]
    if src == "sphinx":
        return [result.parent / ".done"]
    task_dir = result.parent.parent.parent
    return [result.parent.parent / ".done", task_dir / "decode_sets" / ".done"]


def has_pr(exp: Path, frontends: Sequence[str], sets: Sequence[str]) -> bool:
    return any(_sources(Path(exp), s, fe)["superb_pr"].is_file()
               for s in sets for fe in ["clean"] + list(frontends))


def collect(exp: Path, frontends: Sequence[str], eval_set: str,
            columns=None) -> List[Dict[str, object]]:
    columns = COLUMNS if columns is None else columns
    rows = []
    for fe in ["clean"] + list(frontends):
        row: Dict[str, object] = {"frontend": fe}
        sources = _sources(Path(exp), eval_set, fe)
        for col, src, key, _ in columns:
            d = None if (fe == "clean" and src == "scores") else \
                load_finished(sources[src], step_markers(src, sources[src]))
            row[col] = None if d is None else d.get(key)
        rows.append(row)
    return rows


def set_label(name: str) -> str:
    """Column label of a set: ``test_seen`` -> ``seen``."""
    return name[len("test_"):] if name.startswith("test_") and len(name) > 5 else name


def collect_sets(exp: Path, frontends: Sequence[str], sets: Sequence[str], columns):
    """Rows and columns of a table over several sets: one column per metric and set,
    metric-major (``SI-SDR [dB] (seen)``, ``SI-SDR [dB] (unseen)``, ...)."""
    per_set = {s: collect(exp, frontends, s, columns) for s in sets}
    cols = [(f"{c[0]} ({set_label(s)})",) + tuple(c[1:]) + (c[0], s) for c in columns for s in sets]
    rows = []
    for i, fe in enumerate(["clean"] + list(frontends)):
        row: Dict[str, object] = {"frontend": fe}
        for label, _, _, _, base, s in cols:
            row[label] = per_set[s][i][base]
        rows.append(row)
    return rows, [c[:4] for c in cols]


def markdown_table(rows: List[Dict[str, object]], columns=None,
                   first: str = "front-end") -> str:
    """One row per front-end; ``columns`` as (label, source, key, format),
    default this report's; missing or NaN values print as ``-``."""
    columns = COLUMNS if columns is None else columns
    head = [first] + [c[0] for c in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["frontend"])]
        for col, _, _, fmt in columns:
            v = r[col]
            cells.append("-" if v is None or (isinstance(v, float) and math.isnan(v))
                         else fmt.format(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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


def make_report(exp: Path, frontends: Sequence[str], models: Sequence[str], eval_set: str,
                out_md: Path, out_png: Path, title: str = "", notes: str = "",
                sphinx_desc: str = "AN4 dictionary and LM") -> str:
    """``eval_set``: one set, or several separated by blanks (a column per set)."""
    exp = Path(exp)
    sets = eval_set.split()
    if not sets:
        raise RecipeError("no evaluation set given (--set)")
    columns = list(COLUMNS) + ([PR_COLUMN] if has_pr(exp, frontends, sets) else [])
    if len(sets) == 1:
        rows = collect(exp, frontends, sets[0], columns)
    else:
        rows, columns = collect_sets(exp, frontends, sets, columns)
    if all(all(r[c[0]] is None for c in columns) for r in rows):
        raise RecipeError(f"no results found under {exp} for set {eval_set!r}; "
                          "run stages 5-7 first")
    curves = {m: parse_train_log(train_logs(exp / f"enh_{m}")) for m in models}
    curves = {m: c for m, c in curves.items() if c}
    png_line = ""
    if curves:
        plot_convergence(curves, out_png)
        rel = Path(out_png).resolve().relative_to(Path(out_md).resolve().parent) \
            if Path(out_png).resolve().is_relative_to(Path(out_md).resolve().parent) \
            else Path(out_png).resolve()
        png_line = f"\n![validation loss per epoch]({rel})\n"
    table = markdown_table(rows, columns)
    epochs = {m: len(c.get("loss", {})) for m, c in curves.items()}
    if len(sets) == 1:
        which = f"Evaluation set: `{sets[0]}`."
    else:
        which = ("Evaluation sets: " + ", ".join(f"`{s}` ({set_label(s)})" for s in sets)
                 + ", one column per set.")
    intro = (f"{which} Signal scores against the clean reference of the "
             "noisy simulation (`noisy` = unprocessed input); `clean` row: the clean test audio. "
             f"WER indep.: pocketsphinx (en-us acoustic model, {sphinx_desc}), a "
             "recognizer no front-end was trained with. WER downstream: SUPERB-style ESPnet ASR "
             "(frozen SSL upstream, learnable layer weights, small BLSTM-CTC) trained on clean "
             "speech.")
    if PR_COLUMN in columns or any(c[1] == "superb_pr" for c in columns):
        intro += (" PER downstream: phone error rate of the same kind of model trained for "
                  "phoneme recognition (targets from the CMU pronouncing dictionary).")
    md = [f"# {title or 'Results'}", "", intro, "", table]
    if notes:
        md += [notes.strip(), ""]
    if curves:
        md += ["## Convergence", "",
               "Validation loss per epoch ("
               + ", ".join(f"{m}: {n} epochs" for m, n in epochs.items()) + ").", png_line]
    text = "\n".join(md)
    write_text_atomic(Path(out_md), text)
    return text


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="make_report", description="RESULTS.md + convergence PNG")
    p.add_argument("--exp", default="exp")
    p.add_argument("--set", default="test", dest="eval_set",
                   help="evaluation set, or several in one quoted word (a column per set)")
    p.add_argument("--sphinx_desc", default="AN4 dictionary and LM",
                   help="how the report describes pocketsphinx's dictionary and LM")
    p.add_argument("--frontends", default="noisy base ssl_mse ssl_mse_pad ssl_sdtw")
    p.add_argument("--models", default="", help="enh models to plot (default: frontends but noisy)")
    p.add_argument("--out", default="RESULTS.md")
    p.add_argument("--png", default="convergence.png")
    p.add_argument("--title", default="")
    p.add_argument("--notes", default="", help="markdown appended below the table")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    fes = a.frontends.split()
    models = a.models.split() or [f for f in fes if f != "noisy"]
    text = make_report(Path(a.exp), fes, models, a.eval_set, Path(a.out), Path(a.png), a.title,
                       a.notes, a.sphinx_desc)
    print(text)
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
