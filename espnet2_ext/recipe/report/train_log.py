"""Validation losses per epoch from ESPnet's ``train.log`` (the convergence plot)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List

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
