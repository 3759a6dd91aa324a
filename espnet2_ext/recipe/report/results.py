"""``RESULTS.md`` and the convergence plot of a recipe run (stage 8;
``python -m espnet2_ext.bin.make_report``).

Reads the results of the run's ``--asr_set`` sets through the layout
(:mod:`espnet2_ext.recipe.steps.layout`): signal scores (stage 5), the
independent recognizer (stage 6), the downstream tasks (stage 7), the extra
sections other steps leave (e.g. the encoder passes of separation) and each
model's ``train.log``; writes one table (a row per front-end, a ``clean``
reference row) with the notes on the run, and a PNG of the validation loss per
epoch of every model.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError, run_cli, str2bool
from espnet2_ext.recipe.common.kaldi import write_text_atomic
from espnet2_ext.recipe.report import text
from espnet2_ext.recipe.report.plot import plot_convergence
from espnet2_ext.recipe.report.table import collect, markdown_table, present_metrics
from espnet2_ext.recipe.report.train_log import parse_train_log, train_logs
from espnet2_ext.recipe.steps.layout import Layout, add_layout_args, layout_from_args


def _relative(png: Path, md: Path) -> Path:
    png, base = Path(png).resolve(), Path(md).resolve().parent
    return png.relative_to(base) if png.is_relative_to(base) else png


def make_report(layout: Layout, out_md: Path, out_png: Path, title: str = "", notes: str = "",
                sphinx_desc: str = "AN4 dictionary and LM") -> str:
    """Write ``out_md`` (and ``out_png`` when a model has a training log); returns the text."""
    if not layout.asr_sets:
        raise RecipeError("no evaluation set given (--asr_set)")
    metrics = present_metrics(layout)
    rows, columns = collect(layout, metrics)
    if all(r[label] is None for r in rows for label, _ in columns):
        raise RecipeError(f"no results found under {layout.exp} for set(s) "
                          f"{' '.join(layout.asr_sets)!r}; run stages 5-7 first")
    first = "front-end" if layout.num_spk == 1 else "model"
    md = [f"# {title or 'Results'}", "", text.intro(layout, metrics, sphinx_desc), "",
          markdown_table(rows, columns, first)]
    for section in text.sections(layout):
        md += [section, ""]
    if notes:
        md += [notes.strip(), ""]
    curves = {m: parse_train_log(train_logs(layout.model_dir(m))) for m in layout.models}
    curves = {m: c for m, c in curves.items() if c}
    if curves:
        plot_convergence(curves, out_png)
        md += ["## Convergence", "",
               "Validation loss per epoch ("
               + ", ".join(f"{m}: {len(c.get('loss', {}))} epochs" for m, c in curves.items()) + ").",
               "", f"![validation loss per epoch]({_relative(out_png, out_md)})", ""]
    report = "\n".join(md)
    write_text_atomic(Path(out_md), report)
    return report


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="make_report", description="RESULTS.md + convergence PNG")
    add_layout_args(p)
    p.add_argument("--out", default="RESULTS.md")
    p.add_argument("--png", default="convergence.png")
    p.add_argument("--recipe", default=".", help="the recipe dir (its name titles the report)")
    p.add_argument("--title", default="", help="default: RECIPE's corpus/task and what it compares")
    p.add_argument("--sphinx_dict", default="", help="pocketsphinx's dictionary (empty: its own)")
    p.add_argument("--sphinx_lm", default="", help="pocketsphinx's LM (empty: its own)")
    p.add_argument("--sphinx_desc", default="",
                   help="how the report describes them (default: by their file names)")
    g = p.add_argument_group("notes on the run (the stage script's options)")
    g.add_argument("--upstream", default="")
    g.add_argument("--conf_dir", default="conf")
    g.add_argument("--simulate", type=str2bool, default=True)
    g.add_argument("--snrs", default="")
    g.add_argument("--noise_dir", default="")
    g.add_argument("--reverb", type=str2bool, default=False)
    g.add_argument("--rt60", default="")
    g.add_argument("--offsets", default="")
    g.add_argument("--sir_range", default="")
    g.add_argument("--no_notes", action="store_true", help="no notes on the run")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    layout = layout_from_args(a)
    recipe = Path(a.recipe).resolve()
    notes = "" if a.no_notes else text.notes(
        layout, recipe, a.upstream, a.conf_dir, a.simulate, a.snrs, a.noise_dir, a.reverb,
        a.rt60, a.offsets, a.sir_range)
    desc = a.sphinx_desc or text.sphinx_description(a.sphinx_dict, a.sphinx_lm)
    print(make_report(layout, Path(a.out), Path(a.png), a.title or text.title(recipe, layout.num_spk),
                      notes, desc))
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
