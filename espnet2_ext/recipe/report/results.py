"""``RESULTS.md`` and the convergence plot of a recipe run (stage 8;
``python -m espnet2_ext.bin.make_report``).

Reads the results of the run's ``--asr_set`` sets through the layout
(:mod:`espnet2_ext.recipe.steps.layout`): signal scores and representation
distances (stage 5), the independent recognizers (stage 6), the downstream
tasks (stage 7), the extra sections other steps leave (the probe, the encoder
passes of separation) and each model's ``train.log``; writes the tables of
:mod:`.table` (a row per front-end, a fine-tuning loss over its seeds; a
``clean`` reference row): the values, their 95 % intervals over utterances,
each seed apart and the differences to the base model, then the notes on the
run and a PNG of the validation curves per epoch (seeds: mean and band).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError, run_cli, str2bool
from espnet2_ext.recipe.common.kaldi import write_text_atomic
from espnet2_ext.recipe.report import text
from espnet2_ext.recipe.report.plot import plot_convergence
from espnet2_ext.recipe.report.table import (collect, collect_differences, collect_intervals, collect_models,
                                              markdown_table, present_metrics)
from espnet2_ext.recipe.report.train_log import parse_train_log, train_logs
from espnet2_ext.recipe.steps.layout import Layout, add_layout_args, layout_from_args


def _relative(png: Path, md: Path) -> Path:
    png, base = Path(png).resolve(), Path(md).resolve().parent
    return png.relative_to(base) if png.is_relative_to(base) else png


def _seed_tables(layout: Layout, metrics, first: str) -> list:
    """The sections that exist only with fine-tuned models: intervals, seeds, differences."""
    seeds = sorted({s for _, s, _ in layout.runs() if s is not None})
    md = []
    rows, columns = collect_intervals(layout, metrics)
    if columns and any(r[label].value is not None for r in rows for label, _ in columns):
        md += ["## 95 % intervals over utterances", "",
               "Each cell: value [95 % interval over the utterances of the set].  Per-utterance metrics "
               "(signal scores, distances): mean with a Student-t interval of the per-utterance values "
               "(a fine-tuning loss: each utterance's value averaged over its seeds first); WER / cpWER: "
               "the corpus rate with a percentile bootstrap interval (2000 resamples of the utterances, "
               "a fine-tuning loss: errors and words summed over its seeds).  These intervals say how "
               "much the numbers depend on which utterances were tested, not on the seed.", "",
               markdown_table(rows, columns, first, style="interval")]
    if len(seeds) > 1:
        rows, columns = collect_models(layout, metrics)
        md += ["## Each seed", "", f"Every fine-tuned model apart (ESPnet's `--seed`: {', '.join(map(str, seeds))}; "
               "the same base model, data and budget).", "", markdown_table(rows, columns, "model")]
    rows, columns = collect_differences(layout, metrics)
    if rows and any(r[label].value is not None for r in rows for label, _ in columns):
        md += ["## Differences to the base model", "",
               ("Each cell: the fine-tuned model's value minus the base model's, mean over seeds "
                "(min to max over seeds).  **Bold**: every seed moves the metric the same way (its range "
                "excludes 0), a difference larger than the seed spread; the rest is inside the noise of "
                "the fine-tuning." if len(seeds) > 1 else
                "Each cell: the fine-tuned model's value minus the base model's (one model per loss: "
                "no seed spread to tell a difference from noise; `--seeds \"0 1 2\"` gives one)."),
               "", markdown_table(rows, columns, "loss", mark=True)]
    return md


def make_report(layout: Layout, out_md: Path, out_png: Path, title: str = "", notes: str = "",
                sphinx_desc: str = "AN4 dictionary and LM", upstream: str = "", whisper: str = "") -> str:
    """Write ``out_md`` (and ``out_png`` when a model has a training log); returns the text."""
    if not layout.asr_sets:
        raise RecipeError("no evaluation set given (--asr_set)")
    metrics = present_metrics(layout)
    rows, columns = collect(layout, metrics)
    if all(r[label].value is None for r in rows for label, _ in columns):
        raise RecipeError(f"no results found under {layout.exp} for set(s) "
                          f"{' '.join(layout.asr_sets)!r}; run stages 5-7 first")
    first = "front-end" if layout.num_spk == 1 else "model"
    seeds = sorted({s for _, s, _ in layout.runs() if s is not None})
    md = [f"# {title or 'Results'}", "", text.intro(layout, metrics, sphinx_desc, upstream, whisper), "",
          markdown_table(rows, columns, first)]
    if len(seeds) > 1:
        md += [f"A fine-tuning loss's row: the mean over its {len(seeds)} seeds ({', '.join(map(str, seeds))}) "
               "of each model's value, with (min to max) over the seeds.", ""]
    md += _seed_tables(layout, metrics, first)
    for section in text.sections(layout, out_md):
        md += [section, ""]
    if notes:
        md += [notes.strip(), ""]
    groups = layout.groups()
    curves = {g: [c for c in (parse_train_log(train_logs(layout.model_dir(m))) for m in ms) if c]
              for g, ms in groups.items()}
    curves = {g: cs for g, cs in curves.items() if cs}
    if curves:
        base = curves.get("base", [{}])[0].get("si_snr_loss", {})
        plot_convergence(curves, out_png, start=min(base.values()) if base else None)
        md += ["## Convergence", "",
               "Validation curves per epoch ("
               + ", ".join(f"{g}: {max(len(c.get('loss', {})) for c in cs)} epochs"
                           + (f" x {len(cs)} seeds" if len(cs) > 1 else "") for g, cs in curves.items())
               + "); right: `si_snr_loss` (negative SI-SNR, dB), which every fine-tune config logs with "
               "weight 0, so that the losses are compared on one metric; a fine-tuning loss with several "
               "seeds is its mean with a min-max band, starting at epoch 0 from the base model's best "
               "validation value.",
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
    g.add_argument("--whisper_recognizer", default="", help="the Whisper model of stage 6")
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
                      notes, desc, a.upstream, a.whisper_recognizer))
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
