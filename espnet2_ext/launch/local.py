"""Run tasks as local processes, a bounded number at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import List, Optional

from espnet2_ext.launch.base import Backend, JobOptions, LaunchError, Task


def _now() -> str:
    return datetime.now().strftime("%a %b %d %H:%M:%S %Y")


class LocalBackend(Backend):
    """Runs each task with ``bash -c`` on this machine.

    At most ``opts.max_jobs_run`` tasks (default: the number of CPUs) run at
    once.  ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` of each task are set to
    ``opts.num_threads`` so that parallel tasks do not oversubscribe the CPUs.
    ``opts.gpu``, ``mem`` and ``time`` are not enforced locally (as in Kaldi's
    ``run.pl``); the task sees whatever GPUs this machine has.

    Args:
        config: accepted for symmetry with other backends; the local backend
            needs no configuration, but a named file must exist.
    """

    name = "local"

    def __init__(self, config: Optional[Path] = None):
        if config is not None and not Path(config).is_file():
            raise LaunchError(f"local backend: config file {config} does not exist")
        self.config = config
        self._procs: List[subprocess.Popen] = []
        self._lock = threading.Lock()
        self._stopping = False

    def _run_one(self, task: Task, opts: JobOptions) -> int:
        log = Path(task.log)
        log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        threads = str(max(1, int(opts.num_threads)))
        env["OMP_NUM_THREADS"] = threads
        env["MKL_NUM_THREADS"] = threads
        start = time.time()
        with open(log, "w", encoding="utf-8") as f:
            f.write(f"# {task.command}\n")
            f.write(f"# Started at {_now()}\n#\n")
            f.flush()
            with self._lock:
                if self._stopping:
                    rc = 130
                    proc = None
                else:
                    proc = subprocess.Popen(
                        ["bash", "-c", task.command],
                        stdout=f,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        env=env,
                        start_new_session=True,
                    )
                    self._procs.append(proc)
            if proc is not None:
                rc = proc.wait()
                if rc < 0:  # killed by a signal: report as bash would
                    rc = 128 - rc
            elapsed = int(round(time.time() - start))
            f.write(f"# Accounting: time={elapsed} threads={threads}\n")
            f.write(f"# Ended (code {rc}) at {_now()}, elapsed time {elapsed} seconds\n")
        return rc

    def _terminate_all(self) -> None:
        with self._lock:
            self._stopping = True
            procs = list(self._procs)
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def run(self, tasks: List[Task], opts: JobOptions) -> List[int]:
        if not tasks:
            return []
        limit = opts.max_jobs_run or os.cpu_count() or 1
        workers = max(1, min(int(limit), len(tasks)))
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            futures = [pool.submit(self._run_one, t, opts) for t in tasks]
            return [f.result() for f in futures]
        except KeyboardInterrupt:
            self._terminate_all()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
