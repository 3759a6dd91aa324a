"""Slurm's client commands, each under a timeout, and what ``scontrol`` says of a job.

Only the standard library is imported, so the launcher starts quickly.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

from espnet2_ext.launch.base import LaunchError

# JobState values after which a job array task never runs again
TERMINAL_STATES = {
    "BOOT_FAIL",
    "CANCELLED",
    "COMPLETED",
    "DEADLINE",
    "FAILED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "SPECIAL_EXIT",
    "TIMEOUT",
}

# Reasons of a pending task that Slurm will not start again by itself: its
# launch failed (e.g. a node that lost its state) and it was requeued held.
STUCK_REASONS = {"launch_failed_requeued_held"}
# Holds somebody put on purpose (scontrol hold/release): waited for, with a note.
HOLD_REASONS = {"JobHeldUser", "JobHeldAdmin"}

FIELD = re.compile(r"(?:^|\s)(JobId|ArrayJobId|ArrayTaskId|JobState|ExitCode|Reason)=(\S*)")


@dataclass
class TaskState:
    """What the controller says about one array task."""

    state: str
    exit_code: str = "0:0"
    reason: str = ""
    job_id: str = ""


def task_finished(st: "TaskState") -> bool:
    """Will this task never run (again) without somebody's intervention?"""
    return st.state in TERMINAL_STATES or (st.state == "PENDING" and st.reason in STUCK_REASONS)


class Unreachable(Exception):
    pass


def log_time() -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y")


def expand_ids(spec: str) -> List[int]:
    """``"1-3,5%2"`` -> ``[1, 2, 3, 5]`` (ArrayTaskId of a pending array)."""
    spec = spec.split("%", 1)[0]
    ids: List[int] = []
    for part in spec.split(","):
        if not part:
            continue
        step = 1
        if ":" in part:
            part, s = part.split(":", 1)
            step = int(s)
        if "-" in part:
            a, b = part.split("-", 1)
            ids.extend(range(int(a), int(b) + 1, step))
        else:
            ids.append(int(part))
    return ids


def effective_job_name(argv: List[str], default: str) -> str:
    """The job name sbatch uses: the last --job-name/-J of its options."""
    name = default
    for i, a in enumerate(argv):
        if a.startswith("--job-name="):
            name = a.split("=", 1)[1]
        elif a in ("--job-name", "-J") and i + 1 < len(argv):
            name = argv[i + 1]
        elif a.startswith("-J") and len(a) > 2:
            name = a[2:]
    return name


def exit_status(exit_code: str) -> int:
    """Slurm's ``ExitCode=a:b`` (code:signal) as a shell status, never 0."""
    try:
        code, sig = (int(x) for x in exit_code.split(":", 1))
    except ValueError:
        return 1
    if sig:
        return 128 + sig
    return code or 1


class SlurmClient:
    """Slurm's client commands (``sbatch``, ``scontrol``, ``scancel``), each under
    ``timeout`` seconds; a command that does not answer raises :class:`Unreachable`."""

    def __init__(self, timeout: float):
        self.timeout = timeout

    def call(self, argv: List[str], what: str) -> subprocess.CompletedProcess:
        """Run a Slurm client command under the client timeout."""
        timeout = self.timeout
        try:
            return subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                universal_newlines=True,
                timeout=timeout,
            )
        except FileNotFoundError:
            raise LaunchError(
                f"slurm backend: {argv[0]!r} not found in PATH (install the Slurm client "
                f"tools, e.g. 'apt-get install slurm-client', or use --backend local)"
            ) from None
        except subprocess.TimeoutExpired:
            raise Unreachable(f"{what} ({shlex.join(argv)}) did not answer within {timeout:g} s") from None

    def ping(self) -> Optional[str]:
        """None when the controller answers, else why not."""
        try:
            r = self.call(["scontrol", "ping"], "scontrol ping")
        except Unreachable as e:
            return str(e)
        if r.returncode == 0 and re.search(r"\bis UP\b", r.stdout):
            return None
        lines = [ln.strip() for ln in (r.stdout + "\n" + r.stderr).splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("*")]
        return "; ".join(lines[:3]) or f"scontrol ping exited with {r.returncode}"

    def query(self, job_id: str, ntasks: int, array: bool) -> Optional[Dict[int, TaskState]]:
        """States of the job's tasks by array index; None once Slurm forgot the job.

        Raises:
            Unreachable: the controller does not answer.
        """
        why = self.ping()
        if why is not None:
            raise Unreachable(why)
        r = self.call(["scontrol", "show", "job", "-o", job_id], "scontrol show job")
        if r.returncode != 0:
            if "Invalid job id" in r.stderr or "Invalid job id" in r.stdout:
                return None  # purged (MinJobAge passed): finished
            raise Unreachable(" ".join(r.stderr.split()) or f"scontrol exited with {r.returncode}")
        states: Dict[int, TaskState] = {}
        for line in r.stdout.splitlines():
            f = dict(FIELD.findall(line))
            if "JobState" not in f:
                continue
            st = TaskState(
                state=f["JobState"],
                exit_code=f.get("ExitCode", "0:0"),
                reason=f.get("Reason", ""),
                job_id=f.get("JobId", ""),
            )
            if not array:
                states[1] = st
                continue
            spec = f.get("ArrayTaskId", "")
            try:
                ids = expand_ids(spec)
            except ValueError:
                continue
            for i in ids:
                if 1 <= i <= ntasks:
                    states[i] = st
        return states

    def cancel(self, job_id: Optional[str] = None, name: Optional[str] = None) -> None:
        argv = ["scancel", "--quiet"]
        if job_id:
            argv.append(job_id)
        elif name:
            argv += [f"--name={name}", f"--user={os.getuid()}"]
        else:
            return
        try:
            self.call(argv, "scancel")
        except (LaunchError, Unreachable):
            pass
