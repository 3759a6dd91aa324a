"""The results tables: one row per front-end (a fine-tuning loss: over its seeds),
one column per metric (and set).

A metric is a column when some result file of the report's sets holds it, so
that a new metric in a step's JSON (or a new step known to the layout) shows
without a change here beyond its :data:`METRICS` entry.  A value counts only
when the step that wrote it finished (its ``.done`` marker exists): an
interrupted step's partial outputs print as ``-``.

Rows (:func:`row_groups`): ``clean``, the unprocessed input, ``base``, then
one row per fine-tuning loss gathering its seeds' models
(:meth:`Layout.groups`).  Tables:

* :func:`collect` - per row, the mean over its models of each model's value,
  with the spread (min, max) over seeds;
* :func:`collect_intervals` - per row, a 95 % interval over utterances: for a
  per-utterance metric the Student-t interval of the per-utterance values
  (averaged over the seeds first), for a rate (WER, cpWER) the percentile
  bootstrap interval of the corpus rate (errors and words summed over seeds);
* :func:`collect_models` - one row per model (every seed apart);
* :func:`collect_differences` - per loss, each seed's value minus the base
  model's, mean and (min, max) over seeds.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from espnet2_ext.recipe.report import stats
from espnet2_ext.recipe.steps.layout import Layout, split_run


class Metric(NamedTuple):
    source: str  # a result of :meth:`Layout.results`: scores, repr, sphinx, whisper, superb_asr, superb_pr
    key: str  # its key in that JSON file
    label: str
    fmt: str
    per_utt: str = "column"  # column: per_utt.tsv beside the JSON; rate: the JSON's per_utt errors/words; "": none
    better: str = "higher"  # higher | lower


#: every metric a report shows, in column order
METRICS: Tuple[Metric, ...] = (
    Metric("scores", "si_sdr", "SI-SDR [dB]", "{:.2f}"),
    Metric("scores", "si_sdri", "SI-SDRi [dB]", "{:.2f}"),
    Metric("scores", "pesq", "PESQ", "{:.2f}"),
    Metric("scores", "stoi", "STOI", "{:.3f}"),
    Metric("scores", "estoi", "ESTOI", "{:.3f}"),
    Metric("repr", "repr_mse", "MSE repr.", "{:.3f}", better="lower"),
    Metric("repr", "repr_sdtw", "sDTW repr.", "{:.2f}", better="lower"),
    Metric("sphinx", "wer", "WER sphinx [%]", "{:.1f}", "rate", "lower"),
    Metric("sphinx", "cpwer", "cpWER sphinx [%]", "{:.1f}", "rate", "lower"),
    Metric("sphinx", "orcwer", "ORC-WER sphinx [%]", "{:.1f}", "", "lower"),
    Metric("whisper", "wer", "WER Whisper [%]", "{:.1f}", "rate", "lower"),
    Metric("whisper", "cpwer", "cpWER Whisper [%]", "{:.1f}", "rate", "lower"),
    Metric("whisper", "orcwer", "ORC-WER Whisper [%]", "{:.1f}", "", "lower"),
    Metric("superb_asr", "wer", "WER downstream [%]", "{:.1f}", "rate", "lower"),
    Metric("superb_pr", "wer", "PER downstream [%]", "{:.1f}", "rate", "lower"),
)

Column = Tuple[str, str, Metric, str]  # label, format, metric, set


def _read(path: Path) -> Optional[dict]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def load_finished(path: Path, markers: Sequence[Path]) -> Optional[dict]:
    """The JSON at ``path`` if one of ``markers`` (the ``.done`` files of the
    step that writes it) exists, else None (missing, unfinished or unreadable)."""
    return _read(path) if any(Path(m).is_file() for m in markers) else None


def row_names(layout: Layout) -> List[str]:
    """Every front-end a result may exist for: ``clean``, the input, each model."""
    return ["clean", *layout.frontends]


def row_groups(layout: Layout) -> List[Tuple[str, List[str]]]:
    """The rows of the main tables: ``(name, front-ends)``; a loss gathers its seeds."""
    return [("clean", ["clean"]), (layout.input_frontend, [layout.input_frontend]),
            *layout.groups().items()]


def present_metrics(layout: Layout) -> List[Metric]:
    """The metrics some result file of the report's sets holds (finished or not)."""
    found = set()
    for dset in layout.asr_sets:
        for fe in row_names(layout):
            for source, (path, _) in layout.results(dset, fe).items():
                d = _read(path) if path.is_file() else None
                found |= {(source, k) for k in (d or {})}
    return [m for m in METRICS if (m.source, m.key) in found]


def set_label(name: str) -> str:
    """Column label of a set: ``test_seen`` -> ``seen``."""
    return name[len("test_"):] if name.startswith("test_") and len(name) > 5 else name


def columns_of(layout: Layout, metrics: Sequence[Metric]) -> List[Column]:
    """With several sets a column per metric and set, metric-major
    (``SI-SDR [dB] (seen)``, ``SI-SDR [dB] (unseen)``, ...)."""
    sets = list(layout.asr_sets)
    return [(m.label if len(sets) == 1 else f"{m.label} ({set_label(s)})", m.fmt, m, s)
            for m in metrics for s in sets]


def model_value(layout: Layout, dset: str, fe: str, m: Metric) -> Optional[float]:
    path, markers = layout.results(dset, fe)[m.source]
    d = load_finished(path, markers)
    v = None if d is None else d.get(m.key)
    return None if v is None else float(v)


def utterance_values(layout: Layout, dset: str, fe: str, m: Metric) -> Optional[Dict[str, object]]:
    """Per utterance: the metric's value (``column``) or ``(errors, words)`` (``rate``);
    None when the result is missing or unfinished or has none per utterance."""
    path, markers = layout.results(dset, fe)[m.source]
    if not m.per_utt or not any(Path(p).is_file() for p in markers):
        return None
    if m.per_utt == "rate":
        d = _read(path)
        if not d or m.key not in d or not isinstance(d.get("per_utt"), dict):
            return None
        return {u: (float(r["errors"]), float(r["words"])) for u, r in d["per_utt"].items()}
    tsv = Path(path).parent / "per_utt.tsv"
    if not tsv.is_file():
        return None
    with open(tsv, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows or m.key not in rows[0]:
        return None
    return {r["utt"]: float(r[m.key]) for r in rows}


class Cell(NamedTuple):
    """A table cell: ``value`` with an optional interval ``(lo, hi)`` or seed range."""

    value: Optional[float]
    lo: Optional[float] = None
    hi: Optional[float] = None
    n: int = 1


def _cell(values: Sequence[Optional[float]]) -> Cell:
    got = [v for v in values if v is not None]
    if not got:
        return Cell(None)
    if len(values) == 1:
        return Cell(got[0])
    s = stats.spread(got)
    return Cell(s.mean, s.min, s.max, s.n)


def collect(layout: Layout, metrics: Sequence[Metric]) -> Tuple[List[Dict[str, object]], List[Tuple[str, str]]]:
    """``(rows, columns)``: a row per front-end / loss (``{"frontend": name, LABEL: Cell}``),
    a loss's cell the mean over its seeds with their (min, max); columns ``(label, format)``."""
    cols = columns_of(layout, metrics)
    rows = []
    for name, members in row_groups(layout):
        row: Dict[str, object] = {"frontend": name}
        for label, _, m, s in cols:
            row[label] = _cell([model_value(layout, s, fe, m) for fe in members])
        rows.append(row)
    return rows, [(c[0], c[1]) for c in cols]


def collect_models(layout: Layout, metrics: Sequence[Metric]) -> Tuple[List[Dict[str, object]], List[Tuple[str, str]]]:
    """One row per model (each seed apart), plain values."""
    cols = columns_of(layout, metrics)
    rows = []
    for fe in layout.models:
        loss, seed = split_run(fe)
        row: Dict[str, object] = {"frontend": fe if seed is None else f"{loss} (seed {seed})"}
        for label, _, m, s in cols:
            row[label] = Cell(model_value(layout, s, fe, m))
        rows.append(row)
    return rows, [(c[0], c[1]) for c in cols]


def group_interval(layout: Layout, dset: str, members: Sequence[str], m: Metric) -> Cell:
    """The 95 % interval over utterances of a row (see the module doc)."""
    per = [utterance_values(layout, dset, fe, m) for fe in members]
    if any(p is None for p in per) or not per:
        return Cell(None)
    utts = sorted(set.intersection(*(set(p) for p in per)))
    if not utts:
        return Cell(None)
    if m.per_utt == "rate":
        errors = [sum(p[u][0] for p in per) for u in utts]
        words = [sum(p[u][1] for p in per) for u in utts]
        iv = stats.rate_interval(errors, words)
    else:
        vals = []
        for u in utts:
            xs = [p[u] for p in per if not math.isnan(p[u])]
            vals.append(sum(xs) / len(xs) if xs else float("nan"))
        iv = stats.t_interval(vals)
    return Cell(iv.mean, iv.lo, iv.hi, iv.n)


def collect_intervals(layout: Layout, metrics: Sequence[Metric]
                      ) -> Tuple[List[Dict[str, object]], List[Tuple[str, str]]]:
    """Per row, each metric with its 95 % interval over utterances (metrics that have
    per-utterance values only)."""
    cols = [c for c in columns_of(layout, metrics) if c[2].per_utt]
    rows = []
    for name, members in row_groups(layout):
        row: Dict[str, object] = {"frontend": name}
        for label, _, m, s in cols:
            row[label] = group_interval(layout, s, members, m)
        rows.append(row)
    return rows, [(c[0], c[1]) for c in cols]


def collect_differences(layout: Layout, metrics: Sequence[Metric]
                        ) -> Tuple[List[Dict[str, object]], List[Tuple[str, str]]]:
    """Per fine-tuning loss: each seed's value minus the base model's; mean over seeds
    with (min, max) (one seed: the difference alone, no spread)."""
    cols = columns_of(layout, metrics)
    groups = layout.groups()
    rows = []
    for name, members in groups.items():
        if name == "base":
            continue
        row: Dict[str, object] = {"frontend": name}
        for label, _, m, s in cols:
            base = model_value(layout, s, "base", m)
            vals = [model_value(layout, s, fe, m) for fe in members]
            row[label] = _cell([None if v is None or base is None else v - base for v in vals])
        rows.append(row)
    return rows, [(c[0], c[1]) for c in cols]


def beyond_spread(cell: Cell) -> bool:
    """A difference every seed shows with one sign (its seed range excludes 0)."""
    return (cell.value is not None and cell.lo is not None and cell.hi is not None
            and not math.isnan(cell.lo) and (cell.lo > 0 or cell.hi < 0))


def _fmt(fmt: str, v: Optional[float]) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def format_cell(cell: object, fmt: str, style: str = "range", mark: bool = False) -> str:
    """``value``; with a range: ``value (lo to hi)`` (``style`` range) or
    ``value [lo, hi]`` (``interval``); ``mark``: bold when :func:`beyond_spread`."""
    if not isinstance(cell, Cell):
        cell = Cell(None if cell is None else float(cell))
    text = _fmt(fmt, cell.value)
    if cell.value is not None and cell.lo is not None and not math.isnan(cell.lo):
        if style == "interval":
            text += f" [{_fmt(fmt, cell.lo)}, {_fmt(fmt, cell.hi)}]"
        elif cell.n > 1:
            text += f" ({_fmt(fmt, cell.lo)} to {_fmt(fmt, cell.hi)})"
    if mark and beyond_spread(cell):
        text = f"**{text}**"
    return text


def markdown_table(rows: List[Dict[str, object]], columns: Sequence[Tuple[str, str]],
                   first: str = "front-end", style: str = "range", mark: bool = False) -> str:
    """One row per front-end; missing or NaN values print as ``-``."""
    head = [first] + [label for label, _ in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["frontend"])]
        for label, fmt in columns:
            cells.append(format_cell(r[label], fmt, style, mark))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
