"""Tests of the Slurm backend of the job launcher.

The first group checks the config format without a cluster.  The rest run
real jobs on the private single-node cluster of the ``slurm_cluster`` fixture
(tools/local_slurm.sh, see conftest.py): job arrays, failing and cancelled
tasks, option mapping checked inside the jobs, the CLI and a controller that
is unreachable or dies mid-job.  The last test stops the cluster and checks
that no daemon is left.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from espnet2_ext.launch.base import JobOptions, LaunchError, Task
from espnet2_ext.launch.slurm import SlurmBackend, SlurmConfig
from espnet2_ext.launch.slurm.client import TaskState, effective_job_name, exit_status, expand_ids, task_finished

REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "espnet2_ext" / "bin" / "launch.py"
TEMPLATE_CONF = REPO / "egs2" / "TEMPLATE" / "enh_ssl1" / "conf" / "slurm.conf"
MINI_CONF = REPO / "egs2" / "mini_an4" / "enh1" / "conf" / "slurm.conf"

# quick polling for tests: a trivial job takes about 1 s on the local cluster
FAST = """\
setting poll_interval=1
setting client_timeout=10
setting controller_timeout=3
setting status_grace=1
"""


def write_conf(tmp_path: Path, text: str = "") -> Path:
    conf = tmp_path / "slurm.conf"
    conf.write_text(FAST + text)
    return conf


def tasks_for(tmp_path: Path, command: str, n: int, name: str = "log") -> list:
    return [
        Task(index=i, command=re.sub(r"\bJOB\b", str(i), command), log=tmp_path / f"{name}.{i}.log")
        for i in range(1, n + 1)
    ]


def run_bounded(backend, tasks, opts, limit: float = 60):
    """backend.run(tasks, opts), failing the test instead of hanging past `limit` s."""
    out = {}

    def target():
        try:
            out["codes"] = backend.run(tasks, opts)
        except BaseException as e:  # noqa: B902 - handed to the test thread
            out["error"] = e

    th = threading.Thread(target=target, daemon=True)
    th.start()
    th.join(limit)
    if th.is_alive():
        pytest.fail(f"SlurmBackend.run did not return within {limit} s")
    if "error" in out:
        raise out["error"]
    return out["codes"]


def cli(args, timeout=120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(LAUNCH)] + [str(a) for a in args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=timeout,
        **kw,
    )


# --------------------------------------------------------------- config only
def test_config_builtin_mapping():
    cfg = SlurmConfig.parse("")
    assert cfg.command == ["sbatch"]
    args = cfg.sbatch_args(
        JobOptions(gpu=2, mem="4G", num_threads=3, time="1:00:00",
                   extra={"partition": "p1", "num-nodes": "2"})
    )
    assert args == ["--gres=gpu:2", "--cpus-per-task=3", "--mem=4G", "--time=1:00:00",
                    "--partition=p1", "--nodes=2", "--ntasks-per-node=1"]
    # defaults: no GPU, no memory/time/partition request (the cluster's defaults)
    assert cfg.sbatch_args(JobOptions()) == ["--cpus-per-task=1"]


def test_config_file_overrides_defaults_and_settings():
    cfg = SlurmConfig.parse(
        """
        # comment
        command sbatch --export=ALL --qos 'high prio'   # trailing comment
        option gpu=0 --partition=cpu
        option gpu=* --partition=gpu --gres=gpu:$0
        option mem=0
        option mem=* --mem-per-cpu=$0
        default partition=debug
        default time=2:00:00
        option account=* --account=$0
        setting poll_interval=3
        """,
        "x.conf",
    )
    assert cfg.command == ["sbatch", "--export=ALL", "--qos", "high prio"]
    assert cfg.settings["poll_interval"] == 3 and cfg.settings["client_timeout"] == 30
    args = cfg.sbatch_args(JobOptions(gpu=0, mem="0", extra={"account": "a1"}))
    assert args == ["--partition=debug", "--time=2:00:00", "--partition=cpu",
                    "--cpus-per-task=1", "--account=a1"]
    # given on the command line > implied by a rule > default (sbatch takes the last)
    args = cfg.sbatch_args(JobOptions(gpu=4, mem="2G", time="5", extra={"partition": "x"}))
    assert args == ["--partition=gpu", "--gres=gpu:4", "--cpus-per-task=1", "--mem-per-cpu=2G",
                    "--time=5", "--partition=x"]


@pytest.mark.parametrize(
    "text, msg",
    [
        ("bogus x=1", "unknown directive"),
        ("option gpu", "expected 'option NAME=VALUE"),
        ("option gpu=*", "needs sbatch arguments"),
        ("setting speed=3", "unknown setting"),
        ("setting poll_interval=-1", "must be > 0"),
        ("default mem=1G extra", "single NAME=VALUE"),
        ("option max_jobs_run=* --foo", "array throttle"),
        ("command 'unterminated", "x.conf:1"),
    ],
)
def test_config_errors_name_the_line(text, msg):
    with pytest.raises(LaunchError, match=re.escape(msg)):
        SlurmConfig.parse(text, "x.conf")


def test_config_unmapped_options_are_errors():
    cfg = SlurmConfig.parse("option gpu=0\noption gpu=1 --gres=gpu:1", "x.conf")
    with pytest.raises(LaunchError, match="no rule in x.conf matches --gpu 2"):
        cfg.sbatch_args(JobOptions(gpu=2))
    with pytest.raises(LaunchError, match="--color blue has no rule"):
        cfg.sbatch_args(JobOptions(extra={"color": "blue"}))


def test_shipped_confs_parse():
    for conf in (TEMPLATE_CONF, MINI_CONF):
        cfg = SlurmConfig.load(conf)
        assert cfg.command[0] == "sbatch"
        args = cfg.sbatch_args(JobOptions(gpu=1, mem="1G", num_threads=2, time="1:00"))
        assert "--gres=gpu:1" in args and "--cpus-per-task=2" in args
        assert not any(a.startswith("--partition") for a in args)  # cluster's default


def test_stuck_tasks_count_as_finished():
    assert task_finished(TaskState("COMPLETED")) and task_finished(TaskState("NODE_FAIL"))
    assert task_finished(TaskState("PENDING", reason="launch_failed_requeued_held"))
    assert not task_finished(TaskState("PENDING", reason="JobHeldUser"))
    assert not task_finished(TaskState("RUNNING")) and not task_finished(TaskState("COMPLETING"))


def test_helpers():
    assert expand_ids("1-3,5%2") == [1, 2, 3, 5]
    assert expand_ids("7") == [7]
    assert expand_ids("1-7:3") == [1, 4, 7]
    assert exit_status("0:9") == 137 and exit_status("3:0") == 3 and exit_status("0:0") == 1
    assert effective_job_name(["sbatch", "--job-name=a", "-J", "b"], "x") == "b"
    assert effective_job_name(["sbatch"], "x") == "x"


def test_missing_slurm_client_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch/scontrol
    backend = SlurmBackend(write_conf(tmp_path))
    with pytest.raises(LaunchError, match="not found in PATH"):
        run_bounded(backend, tasks_for(tmp_path, "true", 1), JobOptions())


# ------------------------------------------------------------ real cluster
def test_cluster_start_is_idempotent(slurm_cluster):
    t0 = time.monotonic()
    slurm_cluster.start()  # already running: nothing to do
    assert time.monotonic() - t0 < 20
    r = slurm_cluster.tool("status")
    assert r.returncode == 0, r.stdout
    assert "controller: UP" in r.stdout
    r = slurm_cluster.tool("env")
    assert r.stdout.strip() == f"export SLURM_CONF={slurm_cluster.conf}"


def test_job_array_runs_every_task(slurm_cluster, tmp_path):
    backend = SlurmBackend(write_conf(tmp_path))
    tasks = tasks_for(tmp_path / "logs", 'echo "task JOB array=$SLURM_ARRAY_TASK_ID"', 3)
    t0 = time.monotonic()
    codes = run_bounded(backend, tasks, JobOptions())
    assert codes == [0, 0, 0]
    assert time.monotonic() - t0 < 30
    for i, t in enumerate(tasks, 1):
        text = t.log.read_text()
        lines = text.splitlines()
        assert lines[0] == f'# echo "task {i} array=$SLURM_ARRAY_TASK_ID"'
        assert lines[1].startswith("# Started at ")
        assert f"task {i} array={i}" in lines
        assert re.search(r"^# Ended \(code 0\) at .*, elapsed time \d+ seconds$", text, re.M)
    # the job's scripts and status files are removed after a success
    assert not (tmp_path / "logs" / ".slurm").exists()


def test_single_task_without_range_is_a_plain_job(slurm_cluster, tmp_path):
    backend = SlurmBackend(write_conf(tmp_path))
    log = tmp_path / "deep" / "dir" / "one.log"
    codes = run_bounded(backend, [Task(None, 'echo "array=[${SLURM_ARRAY_TASK_ID:-none}]"', log)], JobOptions())
    assert codes == [0]
    assert "array=[none]" in log.read_text()


def test_failing_task_is_reported(slurm_cluster, tmp_path):
    backend = SlurmBackend(write_conf(tmp_path))
    tasks = tasks_for(tmp_path, "echo out JOB; [ JOB != 2 ] || exit 3", 3)
    assert run_bounded(backend, tasks, JobOptions()) == [0, 3, 0]
    assert "# Ended (code 3)" in tasks[1].log.read_text()
    # the job directory is kept after a failure, for inspection
    assert len(list((tmp_path / ".slurm").iterdir())) == 1


def test_options_are_applied_by_slurm(slurm_cluster, tmp_path):
    conf = write_conf(
        tmp_path,
        "option num_threads=* --cpus-per-task=$0\n"
        "option mem=* --mem=$0\n"
        "option gpu=0\n"
        "option gpu=* --gres=gpu:$0\n"
        "default partition=alt\n",
    )
    probe = (
        'echo "cpus=$SLURM_CPUS_PER_TASK mem=$SLURM_MEM_PER_NODE part=$SLURM_JOB_PARTITION '
        'gpus=${CUDA_VISIBLE_DEVICES:-none} omp=$OMP_NUM_THREADS"; '
        "scontrol show job -o $SLURM_JOB_ID"
    )
    log = tmp_path / "probe.log"
    opts = JobOptions(gpu=1, num_threads=2, mem="100M", time="0:05:00")
    assert run_bounded(SlurmBackend(conf), [Task(None, probe, log)], opts) == [0]
    text = log.read_text()
    assert "cpus=2 mem=100 part=alt gpus=0 omp=2" in text
    assert "TimeLimit=00:05:00" in text and "gres:gpu:1" in text


def test_srun_step_for_distributed_training(slurm_cluster, tmp_path):
    """The multi-node form (docs/slurm.md): --num_nodes K + srun, one task per node."""
    conf = write_conf(tmp_path, "option num_nodes=* --nodes=$0 --ntasks-per-node=1\n")
    probe = ("srun --export=ALL bash -c 'echo step nodes=$SLURM_STEP_NUM_NODES "
             "ntasks=$SLURM_NTASKS procid=$SLURM_PROCID nodeid=$SLURM_NODEID'")
    log = tmp_path / "train.log"
    opts = JobOptions(gpu=1, extra={"num_nodes": "1"})
    assert run_bounded(SlurmBackend(conf), [Task(None, probe, log)], opts) == [0]
    assert "step nodes=1 ntasks=1 procid=0 nodeid=0" in log.read_text()


def test_cluster_default_partition_and_throttle(slurm_cluster, tmp_path):
    # no partition in the conf: the cluster's default one ("main"); --max_jobs_run 1
    backend = SlurmBackend(write_conf(tmp_path))
    tasks = tasks_for(
        tmp_path,
        "echo part=$SLURM_JOB_PARTITION; scontrol show job -o $SLURM_JOB_ID; "
        "date +%s.%N; sleep 1; date +%s.%N",
        2,
    )
    assert run_bounded(backend, tasks, JobOptions(max_jobs_run=1)) == [0, 0]
    texts = [t.log.read_text() for t in tasks]
    assert all("part=main" in t for t in texts)
    assert "ArrayTaskThrottle=1" in texts[0]
    spans = [[float(x) for x in re.findall(r"^\d{9,}\.\d+$", t, re.M)] for t in texts]
    first, second = sorted(spans)
    assert second[0] >= first[1]  # never both running


def test_cli_array_with_failure_names_task_and_log(slurm_cluster, tmp_path):
    conf = write_conf(tmp_path)
    r = cli(["--backend", "slurm", "--config", conf, "JOB=1:3", tmp_path / "log.JOB.log",
             "echo", "JOB", "&&", "[", "JOB", "-ne", "2", "]"])
    assert r.returncode == 1
    assert f"task JOB=2 failed with exit code 1; see {tmp_path}/log.2.log" in r.stderr
    assert "JOB=1 " not in r.stderr and "JOB=3 " not in r.stderr
    assert (tmp_path / "log.3.log").read_text().splitlines()[4] == "3"


@pytest.mark.slow  # a real Slurm job array
def test_cli_module_entry_point(slurm_cluster, tmp_path):
    """The whole path as a recipe spells it: python -m espnet2_ext.bin.launch."""
    conf = write_conf(tmp_path)
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    r = subprocess.run(
        [sys.executable, "-m", "espnet2_ext.bin.launch", "--backend", "slurm", "--config", str(conf),
         "JOB=1:2", f"{tmp_path}/log.JOB.log", "echo", "JOB"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
        timeout=180, env=env, cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    for i in (1, 2):
        assert (tmp_path / f"log.{i}.log").read_text().splitlines()[4] == str(i)


def test_cancelled_task_reports_its_status(slurm_cluster, tmp_path):
    """scancel of a running task: the wrapper still writes the exit status."""
    backend = SlurmBackend(write_conf(tmp_path))
    tasks = tasks_for(tmp_path, '[ JOB = 1 ] || { scancel "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"; sleep 30; }', 2)
    t0 = time.monotonic()
    codes = run_bounded(backend, tasks, JobOptions())
    assert codes[0] == 0 and codes[1] == 143
    assert time.monotonic() - t0 < 25
    assert "# Ended (code 143)" in tasks[1].log.read_text()


def test_task_dying_without_status_is_a_failure(slurm_cluster, tmp_path):
    """The wrapper itself killed: Slurm's state and exit code are reported."""
    backend = SlurmBackend(write_conf(tmp_path))
    tasks = tasks_for(tmp_path, "[ JOB = 1 ] || kill -9 $PPID", 2)
    codes = run_bounded(backend, tasks, JobOptions())
    assert codes[0] == 0 and codes[1] != 0
    note = tasks[1].log.read_text()
    assert re.search(r"# Slurm job \d+_2 ended in state \w+.* without the task reporting", note)


def test_interrupted_launcher_cancels_its_job(slurm_cluster, tmp_path):
    conf = write_conf(tmp_path)
    p = subprocess.Popen(
        [sys.executable, str(LAUNCH), "--backend", "slurm", "--config", str(conf),
         "JOB=1:2", f"{tmp_path}/log.JOB.log", "echo started; sleep 60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
    )
    try:
        logs = [tmp_path / f"log.{i}.log" for i in (1, 2)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(f.exists() and "started" in f.read_text() for f in logs):
                break
            time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    # the tasks were cancelled: their logs end with the wrapper's exit status
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if all("# Ended (code 143)" in (tmp_path / f"log.{i}.log").read_text() for i in (1, 2)):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the tasks were not cancelled")


def test_unreachable_controller_fails_fast(slurm_cluster, tmp_path, monkeypatch):
    # a client configuration pointing at a port nobody listens on
    text = slurm_cluster.conf.read_text()
    dead = tmp_path / "dead"
    dead.mkdir()
    (dead / "slurm.conf").write_text(re.sub(r"(?m)^SlurmctldPort=\d+$", "SlurmctldPort=1", text))
    monkeypatch.setenv("SLURM_CONF", str(dead / "slurm.conf"))
    t0 = time.monotonic()
    with pytest.raises(LaunchError, match="controller is unreachable"):
        run_bounded(SlurmBackend(write_conf(tmp_path)), tasks_for(tmp_path, "true", 2), JobOptions())
    r = cli(["--backend", "slurm", "--config", write_conf(tmp_path), "JOB=1:2",
             tmp_path / "l.JOB.log", "true"], env={**os.environ})
    assert r.returncode == 1 and "launch: error: slurm backend: the Slurm controller is unreachable" in r.stderr
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "l.1.log").exists()


def test_controller_dying_mid_job_fails_fast(slurm_cluster, tmp_path):
    backend = SlurmBackend(write_conf(tmp_path))  # controller_timeout=3
    tasks = tasks_for(tmp_path, "echo started; sleep 20", 2)
    killer_done = []

    def kill_when_running():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(t.log.exists() for t in tasks):
            time.sleep(0.1)
        slurm_cluster.stop_controller()
        killer_done.append(time.monotonic())

    th = threading.Thread(target=kill_when_running)
    th.start()
    job_id = None
    try:
        with pytest.raises(LaunchError, match=r"unreachable for \d+ s while waiting for job \d+.*2 of 2 task") as e:
            run_bounded(backend, tasks, JobOptions())
        job_id = re.search(r"waiting for job (\d+)", str(e.value)).group(1)
        assert f"scancel {job_id}" in str(e.value)
        th.join()
        assert killer_done and time.monotonic() - killer_done[0] < 30
    finally:
        th.join()
        slurm_cluster.start()  # back to service for the tests after this one
        if job_id:  # the orphaned tasks still hold the CPUs
            subprocess.run(["scancel", job_id], timeout=30)
    # the cluster works again
    again = tasks_for(tmp_path, "true", 1, "again")
    assert run_bounded(SlurmBackend(write_conf(tmp_path)), again, JobOptions()) == [0]


@pytest.mark.slow  # recipe stages 1-2 (about 10 s)
def test_recipe_stages_through_slurm(slurm_cluster, tmp_path):
    """CMD_BACKEND=slurm ./run.sh --stage 1 --stop_stage 2 of egs2/mini_an4/enh1."""
    recipe = REPO / "egs2" / "mini_an4" / "enh1"
    shared = REPO.parent / "shared" / "data"
    assert (recipe / "run.sh").is_file(), "egs2/mini_an4/enh1/run.sh is part of the repository"
    if not (shared / "an4" / "etc").is_dir():
        pytest.skip(f"shared test data not found at {shared}")
    d = tmp_path / "egs2" / "mini_an4" / "enh1"  # outputs stay in tmp
    d.mkdir(parents=True)
    for name in ("run.sh", "enh_ssl.sh", "utils", "path.sh", "cmd.sh", "conf", "local"):
        (d / name).symlink_to(recipe / name)
    r = subprocess.run(
        ["./run.sh", "--an4_root", str(shared / "an4"),
         "--noise_dir", str(shared / "noise" / "speech_commands"),
         "--conf_dir", "conf/tiny", "--num_dev_spk", "3", "--snrs", "0 5 10", "--nj", "1",
         "--stage", "1", "--stop_stage", "2"],
        cwd=d, env={**os.environ, "CMD_BACKEND": "slurm"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300,
    )
    assert r.returncode == 0, r.stdout[-3000:]
    for dset in ("train", "dev", "test"):
        log = (d / "exp" / "simulation" / "log" / f"simulate_{dset}.log").read_text()
        assert re.search(r"^# Slurm job \d+ on ", log, re.M), log[:500]
        assert "# Ended (code 0)" in log
        assert (d / "data" / f"{dset}_noisy" / "wav.scp").stat().st_size > 0


def test_stop_leaves_no_daemons(slurm_cluster, tmp_path):
    # a job still running when the cluster stops
    r = subprocess.run(
        ["sbatch", "--parsable", f"--output={tmp_path}/s.out", "--wrap", "sleep 120"],
        stdout=subprocess.PIPE, universal_newlines=True, timeout=30,
    )
    assert r.returncode == 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not slurm_cluster.leftover_processes():
        time.sleep(0.1)
    t0 = time.monotonic()
    assert slurm_cluster.tool("stop").returncode == 0
    assert time.monotonic() - t0 < 30
    assert slurm_cluster.daemons_alive() == []
    assert slurm_cluster.leftover_processes() == []
    assert slurm_cluster.tool("stop").returncode == 0  # idempotent
    assert slurm_cluster.tool("status").returncode != 0
