"""ESPnet's tasks, quietly: their parsers and classes (imported on first use)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import warnings

from espnet2_ext.recipe.common.cli import RecipeError

#: task name -> (module, attribute) of the parser's owner
TASKS = {
    "enh": ("espnet2_ext.tasks.enh", "EnhancementTask"),
    "asr": ("espnet2_ext.tasks.asr", "ASRTask"),
    "asr_inference": ("espnet2.bin.asr_inference", "get_parser"),
}


@contextlib.contextmanager
def quiet(output: bool = False):
    """Silence ESPnet's logging and warnings (with ``output``, also what it prints)."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.ExitStack() as stack:
            warnings.simplefilter("ignore")
            if output:
                sink = stack.enter_context(open(os.devnull, "w"))
                stack.enter_context(contextlib.redirect_stdout(sink))
                stack.enter_context(contextlib.redirect_stderr(sink))
            yield
    finally:
        logging.disable(previous)


def load_task(task: str):
    """The task class (``enh``, ``asr``) or the parser function (``asr_inference``)."""
    if task not in TASKS:
        raise RecipeError(f"unknown --task {task!r}; one of {', '.join(TASKS)}")
    mod, attr = TASKS[task]
    with quiet(output=True):  # ESPnet's imports print about optional packages
        return getattr(importlib.import_module(mod), attr)


def get_parser_of(task: str) -> argparse.ArgumentParser:
    owner = load_task(task)
    with quiet():
        return owner() if task == "asr_inference" else owner.get_parser()
