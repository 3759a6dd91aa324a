"""Command-line front end of the job launcher (Kaldi ``run.pl`` semantics).

Usage::

    python -m espnet2_ext.bin.launch [--backend local|slurm] [--config FILE]
        [--gpu N] [--mem X] [--num_threads N] [--time T] [--max_jobs_run N]
        [--other_option value ...] [JOB=1:N] LOG COMMAND...

* ``JOB=a:b`` (any upper-case variable name works, e.g. ``SPLIT=1:4``) runs
  one task per index; each occurrence of the variable in LOG is replaced by
  the index, and so is each whole-word occurrence in COMMAND.  ``JOB=3`` runs
  the single index 3.  Without a range one task runs and LOG is used as is.
* COMMAND words without white space reach the shell as they are (so an
  escaped ``\\|`` becomes a pipe, as with ``run.pl``); words containing white
  space are quoted and stay one word.  A COMMAND given as one single word is
  taken as a whole bash line (``launch LOG "a | b"`` runs a pipeline).
* Each log starts with the command and its start time and ends with its exit
  status and elapsed time.
* The exit status is 0 when every task succeeded; otherwise 1, and each failed
  task is named with its log file on standard error.
* Options the launcher does not know (``--foo value``) are passed to the
  backend in :attr:`JobOptions.extra` (the Slurm backend maps them through its
  config, like ``slurm.pl``); the local backend ignores them.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2_ext.launch.base import Backend, JobOptions, LaunchError, Task

USAGE = (
    "usage: python -m espnet2_ext.bin.launch [--backend local|slurm] [--config FILE] "
    "[--gpu N] [--mem X] [--num_threads N] [--time T] [--max_jobs_run N] "
    "[JOB=1:N] LOG COMMAND..."
)

_RANGE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\d+)(?::(\d+))?$")


class UsageError(ValueError):
    """The command line is malformed; the message says how."""


@dataclass
class Parsed:
    backend: str = "local"
    config: Optional[Path] = None
    opts: JobOptions = field(default_factory=JobOptions)
    var: Optional[str] = None
    start: Optional[int] = None
    end: Optional[int] = None
    log: str = ""
    command: List[str] = field(default_factory=list)


def _int_option(name: str, value: str, minimum: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise UsageError(f"--{name} expects an integer, got {value!r}") from None
    if n < minimum:
        raise UsageError(f"--{name} must be >= {minimum}, got {n}")
    return n


def parse_args(argv: Sequence[str]) -> Parsed:
    """Parse the launcher's command line (without the program name)."""
    argv = list(argv)
    p = Parsed()
    gpu, mem, threads, wall, max_jobs = 0, None, 1, None, None
    extra: Dict[str, str] = {}
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        name = argv[i][2:].replace("-", "_")
        if name == "help":
            raise UsageError(USAGE)
        if not name:
            raise UsageError("empty option '--'")
        if i + 1 >= len(argv):
            raise UsageError(f"option --{name} needs a value")
        value = argv[i + 1]
        i += 2
        if name == "backend":
            if value not in ("local", "slurm"):
                raise UsageError(f"--backend must be 'local' or 'slurm', got {value!r}")
            p.backend = value
        elif name == "config":
            p.config = Path(value)
        elif name == "gpu":
            gpu = _int_option(name, value, 0)
        elif name == "mem":
            mem = value
        elif name == "num_threads":
            threads = _int_option(name, value, 1)
        elif name == "time":
            wall = value
        elif name == "max_jobs_run":
            max_jobs = _int_option(name, value, 1)
        else:
            extra[name] = value
    p.opts = JobOptions(
        gpu=gpu, mem=mem, num_threads=threads, time=wall, max_jobs_run=max_jobs, extra=extra
    )
    if i < len(argv):
        m = _RANGE.match(argv[i])
        if m:
            p.var = m.group(1)
            p.start = int(m.group(2))
            p.end = int(m.group(3)) if m.group(3) is not None else p.start
            if p.end < p.start:
                raise UsageError(f"empty job range {argv[i]!r} (end < start)")
            i += 1
        elif "=" in argv[i] and ":" in argv[i] and " " not in argv[i]:
            raise UsageError(f"malformed job range {argv[i]!r}; expected e.g. JOB=1:4")
    if len(argv) - i < 2:
        raise UsageError("a LOG file and a COMMAND are required\n" + USAGE)
    p.log = argv[i]
    p.command = argv[i + 1 :]
    if p.var is not None and p.end > p.start and p.var not in p.log:
        raise UsageError(
            f"the log file name {p.log!r} must contain {p.var} when running "
            f"{p.end - p.start + 1} tasks (they would overwrite one log)"
        )
    return p


def join_command(words: Sequence[str]) -> str:
    """Join COMMAND words into a bash line the way ``run.pl`` does.

    A single word is returned unchanged: it is a complete bash line.
    """
    if len(words) == 1:
        return words[0]
    out = []
    for w in words:
        if w and not re.search(r"\s", w):
            out.append(w)
        else:
            out.append(shlex.quote(w))
    return " ".join(out)


def make_tasks(p: Parsed) -> List[Task]:
    """Expand the ``JOB`` range into tasks."""
    line = join_command(p.command)
    if p.var is None:
        return [Task(index=None, command=line, log=Path(p.log))]
    word = re.compile(r"\b" + re.escape(p.var) + r"\b")
    tasks = []
    for n in range(p.start, p.end + 1):
        tasks.append(
            Task(
                index=n,
                command=word.sub(str(n), line),
                log=Path(p.log.replace(p.var, str(n))),
            )
        )
    return tasks


def make_backend(name: str, config: Optional[Path]) -> Backend:
    if config is not None and not config.is_file():
        raise LaunchError(f"backend config file {config} does not exist")
    if name == "local":
        from espnet2_ext.launch.local import LocalBackend

        return LocalBackend(config)
    if name == "slurm":
        try:
            from espnet2_ext.launch.slurm import SlurmBackend
        except ImportError as e:
            raise LaunchError(f"the slurm backend is not available: {e}") from e
        return SlurmBackend(config)
    raise LaunchError(f"unknown backend {name!r}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        p = parse_args(argv)
    except UsageError as e:
        if str(e) == USAGE:  # --help
            print(__doc__)
            return 0
        print(f"launch: {e}", file=sys.stderr)
        return 2
    tasks = make_tasks(p)
    try:
        backend = make_backend(p.backend, p.config)
        codes = backend.run(tasks, p.opts)
    except LaunchError as e:
        print(f"launch: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("launch: interrupted", file=sys.stderr)
        return 130
    failed: List[Tuple[Task, int]] = [(t, c) for t, c in zip(tasks, codes) if c != 0]
    if failed:
        for t, c in failed:
            which = f"task {p.var}={t.index}" if t.index is not None else "the task"
            print(f"launch: {which} failed with exit code {c}; see {t.log}", file=sys.stderr)
        print(
            f"launch: {len(failed)} of {len(tasks)} task(s) failed: {join_command(p.command)}",
            file=sys.stderr,
        )
        return 1
    return 0
