"""The contract every job-launcher backend fulfils.

A recipe stage calls ``$cmd [options] [JOB=1:N] LOG COMMAND...`` (Kaldi's
``run.pl``/``slurm.pl`` convention).  The command-line front end
(:mod:`espnet2_ext.bin.launch`) expands the ``JOB`` range into one
:class:`Task` per index, and hands the list to a backend, which runs them
(locally, or as a Slurm job array) and reports one exit status per task.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional


@dataclass(frozen=True)
class Task:
    """One task of a job.

    Attributes:
        index: the value of ``JOB`` for this task (``None`` for a job without
            a ``JOB=a:b`` range).
        command: the bash command line, with ``JOB`` already substituted.
        log: the log file the task's stdout/stderr go to.
    """

    index: Optional[int]
    command: str
    log: Path


@dataclass(frozen=True)
class JobOptions:
    """Resource requests, in Kaldi's option vocabulary.

    Attributes:
        gpu: number of GPUs per task (``--gpu N``).
        mem: memory per task, e.g. ``"4G"`` (``--mem``); ``None`` = default.
        num_threads: CPU threads per task (``--num_threads``).
        time: wall-clock limit, e.g. ``"1:00:00"`` (``--time``); ``None`` = default.
        max_jobs_run: at most this many tasks run at once (``--max_jobs_run``);
            ``None`` = no limit beyond what the backend has.
        extra: further ``--name value`` options the backend's config maps.
    """

    gpu: int = 0
    mem: Optional[str] = None
    num_threads: int = 1
    time: Optional[str] = None
    max_jobs_run: Optional[int] = None
    extra: Dict[str, str] = field(default_factory=dict)


class LaunchError(RuntimeError):
    """The backend could not run the job at all (e.g. no controller)."""


class Backend(abc.ABC):
    """Runs a list of tasks and returns their exit statuses, in order."""

    name: str = "abstract"

    @abc.abstractmethod
    def run(self, tasks: List[Task], opts: JobOptions) -> List[int]:
        """Run every task to completion.

        Each task's stdout and stderr go to ``task.log`` (parent directories
        created by the backend), headed by the command line and followed by
        its exit status and elapsed time, so a log is readable on its own.

        Returns:
            one exit status per task, in the order given (0 = success).

        Raises:
            LaunchError: the backend could not run the tasks at all; the
                message says why (and never after hanging indefinitely).
        """
