"""Where a step stands: what it needs, whether it is done, starting and finishing it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional, Sequence

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.steps import markers
from espnet2_ext.recipe.steps.plan import Step


def require_finished(step: Step) -> None:
    """Stop unless ``step`` finished (its marker exists)."""
    if not step.marker.is_file():
        raise RecipeError(f"{step.title} has not finished ({step.marker} missing): run it first")


def todo(step: Step, words: Sequence[str] = (), requires: Sequence[Path] = ()) -> Optional[str]:
    """None when ``step`` must run (its marker and old outputs are gone, its input
    signature noted); else the line that says it is done.  ``words``: the
    options it depends on; ``requires``: outputs that must exist for it to
    count as done.  Stops when a step it needs has not finished."""
    for need in step.needs:
        require_finished(need)
    for path, made_by in step.needs_files:
        if not Path(path).exists():
            raise RecipeError(f"{path} missing: run {made_by}")
    sig = markers.signature(list(step.inputs) + list(words))
    if markers.is_done(step.marker, sig, list(step.requires) + list(requires)):
        return step.done_note or f"{step.what}: already done ({step.marker}); skipped"
    for p in step.clears:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    markers.start(step.marker, sig)
    return None


def finish(step: Step) -> None:
    """``step`` ran: check what it must leave behind, then write its marker."""
    for r in step.requires:
        if not Path(r).exists():
            see = f"; see {step.log_dir}" if step.log_dir else ""
            raise RecipeError(f"{step.what} ended without {r}{see}")
    markers.mark(step.marker)


def forget(step: Step) -> None:
    """``step`` failed before it wrote anything worth keeping: drop its noted signature."""
    markers.pending(step.marker).unlink(missing_ok=True)


def begin(step: Step) -> Optional[str]:
    """Before a training step runs: its dir kept for ``--resume`` or moved aside
    (see :func:`markers.begin_dir`); returns the line that says so, if moved."""
    if step.train_dir is None:
        raise RecipeError(f"{step.what} is not a training step")
    moved = markers.begin_dir(step.train_dir, step.marker, step.train_dir / "train.log")
    if moved:
        return f"{step.train_dir} was made with other inputs (config/data/options changed): moved to {moved}"
    return None
