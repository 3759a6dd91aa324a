"""Tests of the launcher front end and the local backend."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from espnet2_ext.launch.base import JobOptions, LaunchError, Task
from espnet2_ext.launch.cli import (
    UsageError,
    join_command,
    main,
    make_backend,
    make_tasks,
    parse_args,
)
from espnet2_ext.launch.local import LocalBackend

REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "espnet2_ext" / "bin" / "launch.py"


def test_parse_options_and_range():
    p = parse_args(
        ["--gpu", "1", "--mem", "4G", "--num_threads", "2", "--time", "1:00:00",
         "--max_jobs_run", "3", "--partition", "x", "JOB=2:4", "log.JOB", "echo", "JOB"]
    )
    assert p.opts == JobOptions(gpu=1, mem="4G", num_threads=2, time="1:00:00",
                                max_jobs_run=3, extra={"partition": "x"})
    assert (p.var, p.start, p.end, p.log, p.command) == ("JOB", 2, 4, "log.JOB", ["echo", "JOB"])
    tasks = make_tasks(p)
    assert [t.index for t in tasks] == [2, 3, 4]
    assert [t.command for t in tasks] == ["echo 2", "echo 3", "echo 4"]
    assert [str(t.log) for t in tasks] == ["log.2", "log.3", "log.4"]


def test_job_substitution_whole_words_only():
    p = parse_args(["JOB=1:2", "out/log.JOB.txt", "cat", "keys.JOB.scp", "JOBS", "--x=JOB"])
    t = make_tasks(p)[1]
    assert t.command == "cat keys.2.scp JOBS --x=2"
    assert str(t.log) == "out/log.2.txt"


def test_no_range_and_single_index():
    t = make_tasks(parse_args(["a.log", "true"]))
    assert len(t) == 1 and t[0].index is None and str(t[0].log) == "a.log"
    t = make_tasks(parse_args(["JOB=3", "a.JOB.log", "echo", "JOB"]))
    assert [(x.index, x.command) for x in t] == [(3, "echo 3")]


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["JOB=3:1", "l.JOB", "true"], "empty job range"),
        (["JOB=1:2", "log", "true"], "must contain JOB"),
        (["--gpu", "x", "l", "true"], "integer"),
        (["--max_jobs_run", "0", "l", "true"], ">= 1"),
        (["--backend", "pbs", "l", "true"], "local' or 'slurm"),
        (["l"], "COMMAND are required"),
        (["--mem"], "needs a value"),
    ],
)
def test_bad_command_lines(argv, msg):
    with pytest.raises(UsageError, match=msg):
        parse_args(argv)


def test_help_and_usage_errors(capsys):
    assert main(["--help"]) == 0
    assert "JOB=1:N" in capsys.readouterr().out
    assert main([]) == 2
    assert "LOG file and a COMMAND are required" in capsys.readouterr().err


def test_join_command_quoting():
    assert join_command(["echo", "a b", "|", "wc"]) == "echo 'a b' | wc"
    assert join_command(["echo a | wc -w"]) == "echo a | wc -w"
    assert join_command(["printf", ""]) == "printf ''"


def test_local_runs_and_logs(tmp_path):
    tasks = [Task(i, f"echo out{i}; echo err{i} >&2; exit {i % 2}", tmp_path / f"d/log.{i}")
             for i in (1, 2)]
    codes = LocalBackend().run(tasks, JobOptions())
    assert codes == [1, 0]
    text = (tmp_path / "d/log.1").read_text()
    assert text.startswith("# echo out1")
    assert "# Started at" in text and "out1" in text and "err1" in text
    assert "Ended (code 1)" in text
    assert "Ended (code 0)" in (tmp_path / "d/log.2").read_text()


def test_local_sets_threads(tmp_path):
    t = Task(None, "echo threads=$OMP_NUM_THREADS", tmp_path / "log")
    assert LocalBackend().run([t], JobOptions(num_threads=3)) == [0]
    assert "threads=3" in (tmp_path / "log").read_text()


def test_local_parallel_and_limit(tmp_path):
    tasks = [Task(i, "sleep 0.6", tmp_path / f"l{i}") for i in range(4)]
    t0 = time.time()
    assert LocalBackend().run(tasks, JobOptions(max_jobs_run=4)) == [0] * 4
    parallel = time.time() - t0
    t0 = time.time()
    assert LocalBackend().run(tasks, JobOptions(max_jobs_run=1)) == [0] * 4
    serial = time.time() - t0
    assert serial >= 2.4
    assert parallel < serial - 1.0


def test_local_config_must_exist(tmp_path):
    with pytest.raises(LaunchError, match="does not exist"):
        LocalBackend(tmp_path / "nope.conf")


def test_backend_selection(tmp_path):
    assert isinstance(make_backend("local", None), LocalBackend)
    with pytest.raises(LaunchError, match="does not exist"):
        make_backend("slurm", tmp_path / "missing.conf")


def test_main_reports_failed_tasks(tmp_path, capsys):
    rc = main(["JOB=1:3", str(tmp_path / "log.JOB"), "test JOB -ne 2"])
    assert rc == 1
    err = capsys.readouterr().err
    assert f"task JOB=2 failed with exit code 1; see {tmp_path / 'log.2'}" in err
    assert "JOB=1 " not in err and "JOB=3 " not in err
    assert "1 of 3 task(s) failed" in err
    assert main(["JOB=1:3", str(tmp_path / "ok.JOB"), "true"]) == 0


def test_cli_as_script(tmp_path):
    """The recipes call bin/launch.py by path; exit status and logs as run.pl."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run(
        [sys.executable, str(LAUNCH), "JOB=1:2", str(tmp_path / "x.JOB.log"),
         "echo", "hi", "JOB", ";", "exit", "$((JOB-1))"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 1, r.stderr
    assert "JOB=2 failed with exit code 1" in r.stderr and "x.2.log" in r.stderr
    assert "x.1.log" not in r.stderr
    assert "hi 1" in (tmp_path / "x.1.log").read_text()
    assert "Ended (code 1)" in (tmp_path / "x.2.log").read_text()
    # launched without importing ESPnet (the package's registration)
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['launch.py', {str(tmp_path / 'y.log')!r}, 'true']\n"
        "try:\n"
        f"    runpy.run_path({str(LAUNCH)!r}, run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    print('rc', e.code, 'espnet2' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.stdout.strip() == "rc 0 False", r.stdout + r.stderr
    assert "Ended (code 0)" in (tmp_path / "y.log").read_text()
