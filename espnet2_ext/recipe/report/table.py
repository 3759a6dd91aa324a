"""The results table: one row per front-end, one column per metric (and set).

A metric is a column when some result file of the report's sets holds it, so
that a new metric in a step's JSON (or a new step known to the layout) shows
without a change here beyond its :data:`METRICS` entry.  A value counts only
when the step that wrote it finished (its ``.done`` marker exists): an
interrupted step's partial outputs print as ``-``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from espnet2_ext.recipe.steps.layout import Layout


class Metric(NamedTuple):
    source: str  # a result of :meth:`Layout.results`: scores, sphinx, superb_asr, superb_pr
    key: str  # its key in that JSON file
    label: str
    fmt: str


#: every metric a report shows, in column order
METRICS: Tuple[Metric, ...] = (
    Metric("scores", "si_sdr", "SI-SDR [dB]", "{:.2f}"),
    Metric("scores", "si_sdri", "SI-SDRi [dB]", "{:.2f}"),
    Metric("scores", "pesq", "PESQ", "{:.2f}"),
    Metric("scores", "stoi", "STOI", "{:.3f}"),
    Metric("scores", "estoi", "ESTOI", "{:.3f}"),
    Metric("sphinx", "wer", "WER indep. [%]", "{:.1f}"),
    Metric("sphinx", "cpwer", "cpWER [%]", "{:.1f}"),
    Metric("sphinx", "orcwer", "ORC-WER [%]", "{:.1f}"),
    Metric("superb_asr", "wer", "WER downstream [%]", "{:.1f}"),
    Metric("superb_pr", "wer", "PER downstream [%]", "{:.1f}"),
)


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
    return ["clean", *layout.frontends]


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


def collect(layout: Layout, metrics: Sequence[Metric]) -> Tuple[List[Dict[str, object]], List[Tuple[str, str]]]:
    """``(rows, columns)``: a row per front-end (``{"frontend": name, LABEL: value}``),
    columns as ``(label, format)``; with several sets a column per metric and
    set, metric-major (``SI-SDR [dB] (seen)``, ``SI-SDR [dB] (unseen)``, ...)."""
    sets = list(layout.asr_sets)
    columns = [(m.label if len(sets) == 1 else f"{m.label} ({set_label(s)})", m.fmt, m, s)
               for m in metrics for s in sets]
    rows = []
    for fe in row_names(layout):
        row: Dict[str, object] = {"frontend": fe}
        results = {s: layout.results(s, fe) for s in sets}
        for label, _, m, s in columns:
            path, markers = results[s][m.source]
            d = load_finished(path, markers)
            row[label] = None if d is None else d.get(m.key)
        rows.append(row)
    return rows, [(c[0], c[1]) for c in columns]


def markdown_table(rows: List[Dict[str, object]], columns: Sequence[Tuple[str, str]],
                   first: str = "front-end") -> str:
    """One row per front-end; missing or NaN values print as ``-``."""
    head = [first] + [label for label, _ in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["frontend"])]
        for label, fmt in columns:
            v = r[label]
            cells.append("-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
