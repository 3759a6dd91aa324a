"""RESULTS.md of a separation recipe (stage 8 with ``--num_spk`` >= 2).

Reads, for the evaluation set ``SET``:

* ``EXP/scores/SET/FE/summary.json``     SI-SDR, SI-SDRi, STOI (``score_sep``);
* ``EXP/asr_sphinx/SET/FE/wer.json``     cpWER, ORC-WER (``sep_asr_sphinx``);
* ``EXP/passes/passes.md``               encoder passes per step, pit vs gpit;
* ``EXP/enh_FE/train.log``               validation losses per epoch (plot).

One row per front-end: ``clean`` (the references themselves, WER only),
``mixture`` (unprocessed: one stream), ``base`` and each fine-tuned model.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_ext.recipe.common import RecipeError, run_cli, write_text_atomic
from espnet2_ext.recipe.report import markdown_table as _markdown_table
from espnet2_ext.recipe.report import (load_finished, parse_train_log, plot_convergence,
                                       step_markers, train_logs)

COLUMNS = [
    ("SI-SDR [dB]", "scores", "si_sdr", "{:.2f}"),
    ("SI-SDRi [dB]", "scores", "si_sdri", "{:.2f}"),
    ("STOI", "scores", "stoi", "{:.3f}"),
    ("cpWER [%]", "sphinx", "cpwer", "{:.1f}"),
    ("ORC-WER [%]", "sphinx", "orcwer", "{:.1f}"),
]


def collect(exp: Path, frontends: Sequence[str], eval_set: str) -> List[Dict[str, object]]:
    rows = []
    for fe in ["clean"] + list(frontends):
        files = {"scores": exp / "scores" / eval_set / fe / "summary.json",
                 "sphinx": exp / "asr_sphinx" / eval_set / fe / "wer.json"}
        src = {k: load_finished(f, step_markers(k, f)) for k, f in files.items()}
        row: Dict[str, object] = {"frontend": fe}
        for col, s, key, _ in COLUMNS:
            d = src[s]
            row[col] = None if d is None else d.get(key)
        rows.append(row)
    return rows


def markdown_table(rows: List[Dict[str, object]]) -> str:
    return _markdown_table(rows, columns=COLUMNS, first="model")


def make_report(exp: Path, frontends: Sequence[str], models: Sequence[str], eval_set: str,
                out_md: Path, out_png: Path, title: str = "", notes: str = "") -> str:
    exp = Path(exp)
    rows = collect(exp, frontends, eval_set)
    if all(all(r[c[0]] is None for c in COLUMNS) for r in rows):
        raise RecipeError(f"no results under {exp} for set {eval_set!r}; run stages 5-6 first")
    md = [f"# {title or 'Results'}", "",
          f"Evaluation set: `{eval_set}` (two-speaker mixtures). Signal scores under the "
          "permutation of best SI-SDR, against the references the separator was trained "
          "for; SI-SDRi: improvement over the unprocessed mixture. cpWER / ORC-WER "
          "(meeteval): pocketsphinx (en-us acoustic model, AN4 dictionary and LM), a "
          "recognizer no model was trained with, on each separated stream against both "
          "speakers' transcriptions; `mixture`: the unprocessed mixture as one stream; "
          "`clean`: the reference signals as the streams.", "", markdown_table(rows)]
    passes = exp / "passes" / "passes.md"
    if passes.is_file():
        md += ["## Encoder forward passes per training step", "",
               passes.read_text(encoding="utf-8").strip(), ""]
    if notes:
        md += [notes.strip(), ""]
    curves = {m: parse_train_log(train_logs(exp / f"enh_{m}")) for m in models}
    curves = {m: c for m, c in curves.items() if c}
    if curves:
        plot_convergence(curves, out_png)
        try:
            rel = Path(out_png).resolve().relative_to(Path(out_md).resolve().parent)
        except ValueError:
            rel = Path(out_png).resolve()
        md += ["## Convergence", "",
               "Validation loss per epoch ("
               + ", ".join(f"{m}: {len(c.get('loss', {}))} epochs" for m, c in curves.items())
               + ").", "", f"![validation loss per epoch]({rel})", ""]
    text = "\n".join(md)
    write_text_atomic(Path(out_md), text)
    return text


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="make_sep_report", description="RESULTS.md of separation")
    p.add_argument("--exp", default="exp")
    p.add_argument("--set", default="test", dest="eval_set")
    p.add_argument("--frontends", default="mixture base si_snr ssl_mse")
    p.add_argument("--models", default="", help="models to plot (default: frontends but mixture)")
    p.add_argument("--out", default="RESULTS.md")
    p.add_argument("--png", default="convergence.png")
    p.add_argument("--title", default="")
    p.add_argument("--notes", default="")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    a = get_parser().parse_args(argv)
    fes = a.frontends.split()
    models = a.models.split() or [f for f in fes if f != "mixture"]
    print(make_report(Path(a.exp), fes, models, a.eval_set, Path(a.out), Path(a.png),
                      a.title, a.notes))
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
