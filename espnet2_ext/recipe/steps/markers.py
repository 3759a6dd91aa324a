"""Step markers: a step's ``.done`` file, written last, holds a signature of its inputs.

The signature of a step is one line per input: the word itself, or for a word
naming a file, ``PATH MD5`` of its contents.  It is taken when the step is
checked (:func:`is_done`, then :func:`start`), before it runs, and written by :func:`mark` when it
has finished: inputs edited while a step runs make it rerun next time.  A step
that is not done loses its marker at the check, before it (re)runs: a step
interrupted from then on (SIGKILL, preemption, a time limit) leaves no marker,
so no later step takes its partial outputs for finished work.  Between check
and mark the signature waits in ``MARKER.pending``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import write_text_atomic


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def signature(words: Iterable[object]) -> str:
    """The signature text of ``words`` (see the module doc)."""
    lines = []
    for w in words:
        w = str(w)
        lines.append(f"{w} {_md5(Path(w))}" if w and Path(w).is_file() else w)
    return "\n".join(lines) + "\n"


def pending(marker: Path) -> Path:
    return Path(f"{marker}.pending")


def is_done(marker: Path, sig: str, requires: Sequence[Path] = ()) -> bool:
    """Whether the step finished with the inputs of ``sig`` (and ``requires`` exist)."""
    marker = Path(marker)
    return (marker.is_file() and marker.read_text(encoding="utf-8").strip() == sig.strip()
            and all(Path(r).exists() for r in requires))


def start(marker: Path, sig: str) -> None:
    """The step is about to (re)run: drop its marker, note ``sig`` as pending."""
    Path(marker).unlink(missing_ok=True)
    write_text_atomic(pending(marker), sig)


def mark(marker: Path) -> None:
    """The step finished: its pending signature becomes its marker (atomically)."""
    marker = Path(marker)
    if not pending(marker).is_file():
        raise RecipeError(f"{pending(marker)} missing: the step was not checked before it ran")
    os.replace(pending(marker), marker)


def begin_dir(directory: Path, marker: Path, log: Optional[Path] = None) -> Optional[str]:
    """Before a training step (re)runs in ``directory``: keep it for ESPnet's
    ``--resume`` only if it was started with the same inputs (``.started``),
    else move it aside (``DIR.stale.<time>``) so that no checkpoint of another
    config is resumed; the log of an earlier run is kept as ``LOG.<time>``.
    Returns what was moved aside, if anything."""
    directory, marker = Path(directory), Path(marker)
    if not pending(marker).is_file():
        raise RecipeError(f"{pending(marker)} missing: the step was not checked before it began")
    sig = pending(marker).read_text(encoding="utf-8")
    started = directory / ".started"
    moved = None
    own = {pending(marker).name}
    if directory.is_dir() and any(p.name not in own for p in directory.iterdir()) and (
            not started.is_file() or started.read_text(encoding="utf-8") != sig):
        moved = f"{directory}.stale.{int(time.time())}"
        shutil.move(str(directory), moved)
    directory.mkdir(parents=True, exist_ok=True)
    write_text_atomic(pending(marker), sig)
    write_text_atomic(started, sig)
    if log is not None and Path(log).is_file():
        Path(log).rename(f"{log}.{int(time.time())}")
    return moved
