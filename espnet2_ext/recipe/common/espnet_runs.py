"""Several runs of one ESPnet entry point from one process that imports it once.

Importing an ESPnet tool costs 10-20 s of CPU before it does any work; a
recipe that fine-tunes 3 losses x 3 seeds or enhances with 10 models would
pay that 10 times.  ``python -m espnet2_ext.bin.espnet_runs`` imports the tool
(``espnet2_ext.bin.<tool>``: ``enh_train``, ``enh_inference``, ...) once and
then runs each call in a child forked from that process, at most ``--jobs``
at a time:

    python -m espnet2_ext.bin.espnet_runs --tool enh_train --jobs 2 \\
        ::: exp/enh_a/train.log ARGS_OF_RUN_1... ::: exp/enh_b/train.log ARGS_OF_RUN_2...

Each run is a fresh process (its own random state, logging and caches, as
if started alone) whose stdout and stderr go to its log, which starts with the
command as if run alone (``# python -m espnet2_ext.bin.<tool> ARGS``), then
the numeric environment (:mod:`.machine`: the report lists it), and
ends with ``# Ended (code N) ...``.  The tool exits 0 when every run
succeeded; otherwise 1, naming each failed run's log.  The parent does no
computation before forking (no thread pool exists yet), so the children
start from a clean state.  ESPnet is reached only inside :func:`run_all`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence

from espnet2_ext.recipe.common import machine
from espnet2_ext.recipe.common.cli import RecipeError, run_cli

SEPARATOR = ":::"
PACKAGE = "espnet2_ext.bin"  # where the tools are


class Run(NamedTuple):
    log: Path
    args: List[str]


def parse_runs(words: Sequence[str]) -> List[Run]:
    """``::: LOG ARGS... ::: LOG ARGS...`` -> runs (a run needs at least its log)."""
    words = list(words)
    if not words:
        raise RecipeError(f"no runs given (expected '{SEPARATOR} LOG ARGS...' once per run)")
    if words[0] != SEPARATOR:
        raise RecipeError(f"the runs must start with '{SEPARATOR}', got {words[0]!r}")
    runs: List[Run] = []
    current: List[str] = []
    for w in words[1:] + [SEPARATOR]:
        if w != SEPARATOR:
            current.append(w)
            continue
        if not current:
            raise RecipeError(f"an empty run ('{SEPARATOR}' followed by nothing)")
        runs.append(Run(Path(current[0]), current[1:]))
        current = []
    logs = [str(r.log) for r in runs]
    dup = sorted({x for x in logs if logs.count(x) > 1})
    if dup:
        raise RecipeError(f"two runs write the same log {dup[0]}")
    return runs


def _now() -> str:
    return datetime.now().strftime("%a %b %d %H:%M:%S %Y")


def _child(main, module: str, run: Run) -> None:
    """In the forked child: the run's output into its log, the tool's main, exit."""
    rc = 1
    t0 = time.time()
    try:
        run.log.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(run.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        # Python's own streams onto the log too (whatever replaced them in the parent)
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)
        command = " ".join(shlex.quote(w) for w in ["python", "-m", module, *run.args])
        print(f"# {command}\n# Started at {_now()} (forked by espnet_runs, pid {os.getpid()})\n"
              f"{machine.header_line()}\n#", flush=True)
        sys.argv = [module, *run.args]
        try:
            main(list(run.args))
            rc = 0
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001  (the child must always reach os._exit)
        traceback.print_exc()
        rc = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            print(f"# Ended (code {rc}) at {_now()}, elapsed time {time.time() - t0:.0f} seconds", flush=True)
        finally:
            os._exit(rc)


def run_all(tool: str, runs: Sequence[Run], jobs: int = 1, package: str = "") -> Dict[Path, int]:
    """Import ``PACKAGE.<tool>`` (``espnet2_ext.bin``) once, then run each of ``runs``
    in a forked child, at most ``jobs`` at a time; returns the exit code per log."""
    if jobs < 1:
        raise RecipeError(f"--jobs must be >= 1, got {jobs}")
    name = f"{package or PACKAGE}.{tool}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is not None and name.startswith(e.name):
            raise RecipeError(f"unknown tool {tool!r}: no module {name}") from None
        raise
    main = getattr(module, "main", None)
    if main is None:
        raise RecipeError(f"{name} has no main(cmd)")
    pending = list(runs)
    active: Dict[int, Run] = {}
    codes: Dict[Path, int] = {}
    sys.stdout.flush()
    sys.stderr.flush()
    while pending or active:
        while pending and len(active) < jobs:
            run = pending.pop(0)
            pid = os.fork()
            if pid == 0:  # pragma: no cover  (the child ends in os._exit)
                _child(main, name, run)
            active[pid] = run
            print(f"started {run.log} (pid {pid})", flush=True)
        pid, status = os.wait()
        run = active.pop(pid, None)
        if run is None:
            continue
        codes[run.log] = os.waitstatus_to_exitcode(status)
        print(f"finished {run.log}: exit code {codes[run.log]}", flush=True)
    return codes


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    cut = argv.index(SEPARATOR) if SEPARATOR in argv else len(argv)
    p = argparse.ArgumentParser(prog="espnet_runs", description=__doc__.split("\n\n")[0],
                                usage=f"%(prog)s --tool TOOL [--jobs N] {SEPARATOR} LOG ARGS... "
                                      f"[{SEPARATOR} LOG ARGS...]")
    p.add_argument("--tool", required=True, help="an entry point of espnet2_ext.bin (enh_train, enh_inference, ...)")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time")
    a = p.parse_args(argv[:cut])
    runs = parse_runs(argv[cut:])
    t0 = time.time()
    codes = run_all(a.tool, runs, a.jobs)
    failed = [str(log) for log, rc in codes.items() if rc != 0]
    print(f"{len(runs) - len(failed)} of {len(runs)} run(s) of {a.tool} succeeded in {time.time() - t0:.0f} s",
          flush=True)
    if failed:
        raise RecipeError(f"{len(failed)} run(s) of {a.tool} failed; see {', '.join(failed)}")
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
