"""Run tasks on a Slurm cluster: one ``sbatch`` job array per launch.

The backend submits all tasks of a launch as one job array (a single task
without a ``JOB`` range as a plain job), waits for them, and returns one exit
status per task.  It needs no Slurm accounting: every task is wrapped by a
small bash script that writes the task's log (headed by the command, ended by
the exit status, as the local backend does) and then a *status file* holding
the exit code.  Completion is read from those files (the log directory must be
visible from the compute nodes, as with Kaldi's ``slurm.pl``); the controller
is asked (``scontrol show job``) only to notice tasks that ended without
writing one (cancelled, timed out, node failure) and whether it is still
reachable.  Every Slurm client call runs under a timeout, and a controller
unreachable for longer than ``controller_timeout`` seconds makes the launch
fail with :class:`LaunchError` rather than wait forever.

Resource options (``--gpu``, ``--mem``, ``--num_threads``, ``--time`` and any
other ``--name value``) become ``sbatch`` options through a small config file
(``conf/slurm.conf``); see :class:`SlurmConfig` and ``docs/slurm.md``.

Only the standard library and :mod:`espnet2_ext.launch.base` are imported, so
the launcher starts quickly.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from espnet2_ext.launch.base import Backend, JobOptions, LaunchError, Task

# Mapping used for every option the config file has no ``option`` line for.
BUILTIN_CONFIG = """\
command sbatch
option gpu=0
option gpu=* --gres=gpu:$0
option num_threads=* --cpus-per-task=$0
option mem=* --mem=$0
option time=* --time=$0
option partition=* --partition=$0
option name=* --job-name=$0
option num_nodes=1
option num_nodes=* --nodes=$0 --ntasks-per-node=1
"""

# ``setting`` keys of the config file, with their defaults (seconds).
DEFAULT_SETTINGS: Dict[str, float] = {
    # longest pause between two checks of a running job
    "poll_interval": 10.0,
    # longest time a single Slurm client command (sbatch, scontrol) may take
    "client_timeout": 30.0,
    # how long the controller may stay unreachable while tasks are unfinished
    "controller_timeout": 300.0,
    # how long to wait for a task's status file after Slurm reports the task
    # finished (covers the attribute caches of network file systems)
    "status_grace": 30.0,
}

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

_FIELD = re.compile(r"(?:^|\s)(JobId|ArrayJobId|ArrayTaskId|JobState|ExitCode|Reason)=(\S*)")


def _norm(name: str) -> str:
    return name.strip().replace("-", "_")


@dataclass
class SlurmConfig:
    """The parsed ``slurm.conf`` of the launcher (not Slurm's own slurm.conf).

    The file has one directive per line; ``#`` starts a comment; arguments are
    split like a shell would (quotes allowed)::

        command sbatch [ARGS...]     # the submit command and options always given
        option NAME=VALUE [ARGS...]  # --NAME VALUE adds ARGS (none: adds nothing)
        option NAME=* ARGS...        # any other value; "$0" in ARGS is the value
        default NAME=VALUE           # the value of NAME when --NAME is not given
        setting KEY=VALUE            # backend behaviour (poll_interval, ...)

    NAME is a launcher option without its dashes (``gpu``, ``mem``,
    ``num_threads``, ``time``, or any other ``--name value`` such as
    ``partition``); ``-`` and ``_`` are the same.  An option the file has no
    ``option`` line for keeps the built-in rule (:data:`BUILTIN_CONFIG`);
    one ``option`` line for a NAME replaces all built-in rules for it.  An
    option given a value that no rule matches is an error.  ``--max_jobs_run``
    needs no rule: it becomes the array throttle (``--array=1-N%M``).
    """

    command: List[str] = field(default_factory=lambda: ["sbatch"])
    rules: Dict[str, Dict[str, List[str]]] = field(default_factory=dict)
    defaults: Dict[str, str] = field(default_factory=dict)
    settings: Dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    source: str = "<built-in>"

    @classmethod
    def parse(cls, text: str, source: str = "<string>") -> "SlurmConfig":
        """Parse config text over the built-in rules."""
        cfg = cls._parse_lines(BUILTIN_CONFIG, "<built-in>", cls())
        own = cls._parse_lines(text, source, cls(command=[], settings={}))
        if own.command:
            cfg.command = own.command
        cfg.rules.update(own.rules)  # per option name: the file's rules win
        cfg.defaults.update(own.defaults)
        cfg.settings.update(own.settings)
        cfg.source = source
        return cfg

    @classmethod
    def load(cls, path: Optional[Path]) -> "SlurmConfig":
        if path is None:
            return cls.parse("", "<built-in>")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise LaunchError(f"slurm backend: cannot read config {path}: {e}") from e
        return cls.parse(text, str(path))

    @staticmethod
    def _parse_lines(text: str, source: str, cfg: "SlurmConfig") -> "SlurmConfig":
        for lineno, raw in enumerate(text.splitlines(), 1):
            where = f"{source}:{lineno}"
            try:
                words = shlex.split(raw, comments=True)
            except ValueError as e:
                raise LaunchError(f"{where}: {e}: {raw.strip()!r}") from None
            if not words:
                continue
            key, args = words[0], words[1:]
            if key == "command":
                if not args:
                    raise LaunchError(f"{where}: 'command' needs the submit program, e.g. 'command sbatch'")
                cfg.command = args
                continue
            if key not in ("option", "default", "setting"):
                raise LaunchError(
                    f"{where}: unknown directive {key!r} (expected command, option, default or setting)"
                )
            if not args or "=" not in args[0]:
                raise LaunchError(f"{where}: expected '{key} NAME=VALUE ...', got {raw.strip()!r}")
            name, value = args[0].split("=", 1)
            name = _norm(name)
            if not name:
                raise LaunchError(f"{where}: empty option name in {raw.strip()!r}")
            if key == "option":
                if name == "max_jobs_run":
                    raise LaunchError(f"{where}: max_jobs_run is not mapped (it is the array throttle)")
                if value == "*" and not args[1:]:
                    raise LaunchError(f"{where}: 'option {name}=*' needs sbatch arguments using $0")
                cfg.rules.setdefault(name, {})[value] = args[1:]
            elif key == "default":
                if args[1:]:
                    raise LaunchError(f"{where}: 'default' takes a single NAME=VALUE")
                cfg.defaults[name] = value
            else:
                if args[1:]:
                    raise LaunchError(f"{where}: 'setting' takes a single KEY=VALUE")
                if name not in DEFAULT_SETTINGS:
                    raise LaunchError(
                        f"{where}: unknown setting {name!r} (known: {', '.join(sorted(DEFAULT_SETTINGS))})"
                    )
                try:
                    seconds = float(value)
                except ValueError:
                    raise LaunchError(f"{where}: setting {name} expects seconds, got {value!r}") from None
                if seconds <= 0:
                    raise LaunchError(f"{where}: setting {name} must be > 0, got {value!r}")
                cfg.settings[name] = seconds
        return cfg

    def option_values(self, opts: JobOptions) -> List[Tuple[str, str]]:
        """The options of a launch and their values, in the order mapped.

        Defaults of options not given come first, then ``gpu``,
        ``num_threads``, ``mem``, ``time`` and the other options given, so
        that (sbatch taking the last of a repeated option) an option given on
        the command line beats one implied by a rule, which beats a default.
        """
        given: Dict[str, str] = {"gpu": str(opts.gpu), "num_threads": str(opts.num_threads)}
        if opts.mem is not None:
            given["mem"] = str(opts.mem)
        if opts.time is not None:
            given["time"] = str(opts.time)
        for k, v in (opts.extra or {}).items():
            given[_norm(k)] = str(v)
        given.pop("max_jobs_run", None)
        out = [(k, v) for k, v in self.defaults.items() if k not in given]
        return out + list(given.items())

    def sbatch_args(self, opts: JobOptions) -> List[str]:
        """The sbatch options the resource options map to."""
        out: List[str] = []
        for name, value in self.option_values(opts):
            rules = self.rules.get(name)
            if rules is None:
                raise LaunchError(
                    f"slurm backend: option --{name} {value} has no rule in {self.source}; "
                    f"add e.g. 'option {name}=* --{name.replace('_', '-')}=$0'"
                )
            if value in rules:
                args = rules[value]
            elif "*" in rules:
                args = [a.replace("$0", value) for a in rules["*"]]
            else:
                raise LaunchError(
                    f"slurm backend: no rule in {self.source} matches --{name} {value} "
                    f"(rules exist for: {', '.join(sorted(rules))})"
                )
            out.extend(args)
        return out


@dataclass
class _TaskState:
    """What the controller says about one array task."""

    state: str
    exit_code: str = "0:0"
    reason: str = ""
    job_id: str = ""


def _finished(st: "_TaskState") -> bool:
    """Will this task never run (again) without somebody's intervention?"""
    return st.state in TERMINAL_STATES or (st.state == "PENDING" and st.reason in STUCK_REASONS)


class _Unreachable(Exception):
    pass


def _now() -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y")


def _expand_ids(spec: str) -> List[int]:
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


def _effective_job_name(argv: List[str], default: str) -> str:
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


def _exit_status(exit_code: str) -> int:
    """Slurm's ``ExitCode=a:b`` (code:signal) as a shell status, never 0."""
    try:
        code, sig = (int(x) for x in exit_code.split(":", 1))
    except ValueError:
        return 1
    if sig:
        return 128 + sig
    return code or 1


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

    # ----------------------------------------------------------- slurm calls
    def _call(self, argv: List[str], what: str) -> subprocess.CompletedProcess:
        """Run a Slurm client command under the client timeout."""
        timeout = self.settings["client_timeout"]
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
            raise _Unreachable(f"{what} ({shlex.join(argv)}) did not answer within {timeout:g} s") from None

    def _ping(self) -> Optional[str]:
        """None when the controller answers, else why not."""
        try:
            r = self._call(["scontrol", "ping"], "scontrol ping")
        except _Unreachable as e:
            return str(e)
        if r.returncode == 0 and re.search(r"\bis UP\b", r.stdout):
            return None
        lines = [ln.strip() for ln in (r.stdout + "\n" + r.stderr).splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("*")]
        return "; ".join(lines[:3]) or f"scontrol ping exited with {r.returncode}"

    def _query(self, job_id: str, ntasks: int, array: bool) -> Optional[Dict[int, _TaskState]]:
        """States of the job's tasks by array index; None once Slurm forgot the job.

        Raises:
            _Unreachable: the controller does not answer.
        """
        why = self._ping()
        if why is not None:
            raise _Unreachable(why)
        r = self._call(["scontrol", "show", "job", "-o", job_id], "scontrol show job")
        if r.returncode != 0:
            if "Invalid job id" in r.stderr or "Invalid job id" in r.stdout:
                return None  # purged (MinJobAge passed): finished
            raise _Unreachable(" ".join(r.stderr.split()) or f"scontrol exited with {r.returncode}")
        states: Dict[int, _TaskState] = {}
        for line in r.stdout.splitlines():
            f = dict(_FIELD.findall(line))
            if "JobState" not in f:
                continue
            st = _TaskState(
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
                ids = _expand_ids(spec)
            except ValueError:
                continue
            for i in ids:
                if 1 <= i <= ntasks:
                    states[i] = st
        return states

    def _cancel(self, job_id: Optional[str] = None, name: Optional[str] = None) -> None:
        argv = ["scancel", "--quiet"]
        if job_id:
            argv.append(job_id)
        elif name:
            argv += [f"--name={name}", f"--user={os.getuid()}"]
        else:
            return
        try:
            self._call(argv, "scancel")
        except (LaunchError, _Unreachable):
            pass

    # ------------------------------------------------------------ scripts
    @staticmethod
    def _task_script(task: Task, k: int, work: Path, threads: int) -> str:
        log = shlex.quote(str(Path(task.log).absolute()))
        status = shlex.quote(str(work / f"status.{k}"))
        header = shlex.quote(f"# {task.command}")
        command = shlex.quote(task.command)
        return f"""\
# task {k}: written by espnet2_ext.launch.slurm; run by job.sh
log={log}
status={status}
mkdir -p "$(dirname "$log")" || {{ echo 1 >"$status"; exit 1; }}
{{
    printf '%s\\n' {header}
    printf '# Started at %s\\n' "$(LC_ALL=C date '+%a %b %d %H:%M:%S %Y')"
    printf '# Slurm job %s on %s\\n#\\n' \\
        "${{SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}}${{SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}}" "$(hostname)"
}} >"$log"
export OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads}
start=$(date +%s)
# the command runs in the background so that a SIGTERM from Slurm (scancel,
# time limit) is passed on and the log still gets its exit status
bash -c {command} >>"$log" 2>&1 </dev/null &
child=$!
trap 'kill -TERM $child 2>/dev/null' TERM INT
wait $child
rc=$?
while kill -0 $child 2>/dev/null; do
    wait $child
    rc=$?
done
elapsed=$(($(date +%s) - start))
{{
    echo "# Accounting: time=$elapsed threads={threads}"
    echo "# Ended (code $rc) at $(LC_ALL=C date '+%a %b %d %H:%M:%S %Y'), elapsed time $elapsed seconds"
}} >>"$log"
echo $rc >"$status.tmp" && mv -f "$status.tmp" "$status"
exit $rc
"""

    @staticmethod
    def _job_script(work: Path) -> str:
        w = shlex.quote(str(work))
        return f"""\
#!/bin/bash
# Slurm batch script written by espnet2_ext.launch.slurm: runs task
# number $SLURM_ARRAY_TASK_ID of {w}.
exec bash {w}/task.${{SLURM_ARRAY_TASK_ID:-1}}.sh
"""

    # ---------------------------------------------------------------- run
    def run(self, tasks: List[Task], opts: JobOptions) -> List[int]:
        if not tasks:
            return []
        sbatch_opts = self.config.sbatch_args(opts)  # config errors before any work
        why = self._ping()
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
            (work / f"task.{k}.sh").write_text(self._task_script(task, k, work, threads), encoding="utf-8")
        script = work / "job.sh"
        script.write_text(self._job_script(work), encoding="utf-8")
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
            r = self._call(argv, "sbatch")
        except _Unreachable as e:
            self._cancel(name=_effective_job_name(argv, job_name))  # in case it was accepted after all
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
            self._cancel(job_id=job_id)
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
        last: Dict[int, _TaskState] = {}
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
                states = self._query(job_id, n, array)
            except _Unreachable as e:
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
                    finished = states is None or (st is not None and _finished(st))
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
                            self._cancel(job_id=f"{job_id}_{k}" if array else job_id)  # held for good
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
        job_id: str, k: int, task: Task, st: Optional[_TaskState], array: bool, work: Path
    ) -> int:
        """A task that ended without a status file: note it in its log."""
        sid = f"{job_id}_{k}" if array else job_id
        if st is None:
            what = "left the queue"
            rc = 1
        else:
            what = f"ended in state {st.state}" + (f" ({st.reason})" if st.reason not in ("", "None") else "")
            rc = _exit_status(st.exit_code)
        note = (
            f"# Slurm job {sid} {what} without the task reporting an exit status "
            f"(exit code {rc}; Slurm's own output: {work}/slurm-*.out)\n"
            f"# Ended (code {rc}) at {_now()}\n"
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
