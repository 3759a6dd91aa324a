"""The Slurm backend: submit a launch's tasks as one job array, wait for them,
collect one exit status per task (see the package doc)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

from espnet2_ext.launch.base import Backend, JobOptions, LaunchError, Task
from espnet2_ext.launch.slurm.client import (HOLD_REASONS, TERMINAL_STATES, SlurmClient, TaskState,
                                             Unreachable, effective_job_name, exit_status, log_time, task_finished)
from espnet2_ext.launch.slurm.config import SlurmConfig
from espnet2_ext.launch.slurm.scripts import job_script, task_script


class SlurmBackend(Backend):
    """Submits tasks with ``sbatch`` and waits for them (see the module doc).

    Args:
        config: the launcher's Slurm config (format: :class:`SlurmConfig`);
            ``None`` uses ``conf/slurm.conf`` of the current directory when it
            exists (as ``slurm.pl`` does), else the built-in rules.
    """

    name = "slurm"

    def __init__(self, config: Optional[Path] = None):
        if config is None and Path("conf/slurm.conf").is_file():
            config = Path("conf/slurm.conf")
        self.config_path = config
        self.config = SlurmConfig.load(config)
        self.settings = self.config.settings
        self.client = SlurmClient(self.settings["client_timeout"])

    def run(self, tasks: List[Task], opts: JobOptions) -> List[int]:
        if not tasks:
            return []
        sbatch_opts = self.config.sbatch_args(opts)  # config errors before any work
        why = self.client.ping()
        if why is not None:
            raise LaunchError(f"slurm backend: the Slurm controller is unreachable: {why}")

        array = not (len(tasks) == 1 and tasks[0].index is None)
        first = Path(tasks[0].log).absolute()
        qdir = first.parent / ".slurm"
        qdir.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", first.name)
        if tasks[0].index is not None:  # drop the index: "train.3.log" -> "train.log"
            stem = re.sub(rf"(^|[._-]){tasks[0].index}(?=$|[._-])", r"\1", stem, count=1)
            stem = re.sub(r"\.\.+", ".", stem).strip(".") or "job"
        work = Path(tempfile.mkdtemp(prefix=f"{stem}.", dir=qdir))
        job_name = work.name
        threads = max(1, int(opts.num_threads))
        for k, task in enumerate(tasks, 1):
            (work / f"task.{k}.sh").write_text(task_script(task, k, work, threads), encoding="utf-8")
        script = work / "job.sh"
        script.write_text(job_script(work), encoding="utf-8")
        script.chmod(0o755)

        argv = list(self.config.command) + [
            "--parsable",
            f"--job-name={job_name}",
            f"--chdir={os.getcwd()}",
        ]
        if array:
            spec = f"1-{len(tasks)}"
            if opts.max_jobs_run:
                spec += f"%{int(opts.max_jobs_run)}"
            argv += [f"--array={spec}", f"--output={work}/slurm-%A_%a.out"]
        else:
            argv += [f"--output={work}/slurm-%j.out"]
        argv += sbatch_opts + [str(script)]
        (work / "sbatch.cmd").write_text(shlex.join(argv) + "\n", encoding="utf-8")

        try:
            r = self.client.call(argv, "sbatch")
        except Unreachable as e:
            self.client.cancel(name=effective_job_name(argv, job_name))  # in case it was accepted after all
            raise LaunchError(f"slurm backend: submission failed: {e}") from None
        if r.returncode != 0:
            msg = " ".join(r.stderr.split()) or f"sbatch exited with {r.returncode}"
            raise LaunchError(f"slurm backend: submission failed: {msg} (command: {shlex.join(argv)})")
        m = re.match(r"\s*(\d+)", r.stdout)
        if not m:
            raise LaunchError(f"slurm backend: cannot read the job id from sbatch's output {r.stdout!r}")
        job_id = m.group(1)

        restore = None
        if threading.current_thread() is threading.main_thread():
            # a SIGTERM to the launcher cancels the job, as Ctrl-C does
            def _on_term(signum, frame):
                raise KeyboardInterrupt

            try:
                restore = signal.signal(signal.SIGTERM, _on_term)
            except ValueError:
                restore = None
        try:
            codes = self._wait(job_id, tasks, work, array)
        except KeyboardInterrupt:
            self.client.cancel(job_id=job_id)
            raise
        finally:
            if restore is not None:
                signal.signal(signal.SIGTERM, restore)
        if all(c == 0 for c in codes):
            shutil.rmtree(work, ignore_errors=True)
            try:
                qdir.rmdir()  # only when no other launch uses it
            except OSError:
                pass
        return codes

    def _wait(self, job_id: str, tasks: List[Task], work: Path, array: bool) -> List[int]:
        n = len(tasks)
        codes: Dict[int, int] = {}
        ended_at: Dict[int, float] = {}  # Slurm says finished, no status file yet
        last: Dict[int, TaskState] = {}
        unreachable_since: Optional[float] = None
        noted_holds = set()
        interval = 0.2
        s = self.settings
        while True:
            for k in range(1, n + 1):
                if k not in codes:
                    rc = self._read_status(work / f"status.{k}")
                    if rc is not None:
                        codes[k] = rc
            if len(codes) == n:
                break
            now = time.monotonic()
            try:
                states = self.client.query(job_id, n, array)
            except Unreachable as e:
                if unreachable_since is None:
                    unreachable_since = now
                elif now - unreachable_since >= s["controller_timeout"]:
                    left = [k for k in range(1, n + 1) if k not in codes]
                    logs = ", ".join(str(tasks[k - 1].log) for k in left[:3]) + (" ..." if len(left) > 3 else "")
                    raise LaunchError(
                        f"slurm backend: the Slurm controller has been unreachable for "
                        f"{now - unreachable_since:.0f} s while waiting for job {job_id} ({e}); "
                        f"{len(left)} of {n} task(s) unfinished (they may still be running; "
                        f"logs: {logs}); check with 'squeue -j {job_id}', cancel with 'scancel {job_id}'"
                    ) from None
            else:
                unreachable_since = None
                for k in range(1, n + 1):
                    if k in codes:
                        continue
                    st = None if states is None else states.get(k)
                    if st is not None:
                        last[k] = st
                    # not listed while the job is known: still to come (rare)
                    finished = states is None or (st is not None and task_finished(st))
                    if st is not None and st.reason in HOLD_REASONS and st.reason not in noted_holds:
                        noted_holds.add(st.reason)
                        print(f"launch: slurm job {job_id} is held ({st.reason}); waiting for its release",
                              file=sys.stderr)
                    if finished:
                        ended_at.setdefault(k, now)
                    else:
                        ended_at.pop(k, None)
                for k, t0 in list(ended_at.items()):
                    if k in codes or now - t0 < s["status_grace"]:
                        continue
                    # a last look, then give up on the status file
                    rc = self._read_status(work / f"status.{k}")
                    if rc is None:
                        st = last.get(k)
                        if st is not None and st.state not in TERMINAL_STATES:
                            self.client.cancel(job_id=f"{job_id}_{k}" if array else job_id)  # held for good
                        rc = self._no_status(job_id, k, tasks[k - 1], st, array, work)
                    codes[k] = rc
                if len(codes) == n:
                    break
            # sleep less while a task is known to have ended (its file is due)
            pause = min(interval, 1.0) if ended_at else interval
            time.sleep(pause)
            interval = min(interval * 1.5, s["poll_interval"])
        return [codes[k] for k in range(1, n + 1)]

    @staticmethod
    def _read_status(path: Path) -> Optional[int]:
        try:
            text = path.read_text().strip()
        except OSError:
            return None
        try:
            return int(text)
        except ValueError:
            return None

    @staticmethod
    def _no_status(
        job_id: str, k: int, task: Task, st: Optional[TaskState], array: bool, work: Path
    ) -> int:
        """A task that ended without a status file: note it in its log."""
        sid = f"{job_id}_{k}" if array else job_id
        if st is None:
            what = "left the queue"
            rc = 1
        else:
            what = f"ended in state {st.state}" + (f" ({st.reason})" if st.reason not in ("", "None") else "")
            rc = exit_status(st.exit_code)
        note = (
            f"# Slurm job {sid} {what} without the task reporting an exit status "
            f"(exit code {rc}; Slurm's own output: {work}/slurm-*.out)\n"
            f"# Ended (code {rc}) at {log_time()}\n"
        )
        try:
            log = Path(task.log)
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a", encoding="utf-8") as f:
                f.write(note)
        except OSError:
            pass
        which = f"JOB={task.index}" if task.index is not None else "the task"
        print(f"launch: slurm job {sid} ({which}) {what} without an exit status", file=sys.stderr)
        return rc
