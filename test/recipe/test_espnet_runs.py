"""espnet_runs: several runs of one entry point forked from one process (the
recipes' ESPnet start-up paid once): each run's output in its own log, its
own exit code, fresh state per run, at most --jobs at a time."""

import sys
import textwrap
import time

import pytest

from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.espnet_runs import Run, parse_runs, run_all
from espnet2_ext.recipe.common import espnet_runs

TOOL = '''
import os, random, sys, time
STATE = []  # module state: a run must not see another run's

def main(cmd):
    STATE.append(cmd)
    print("argv", " ".join(sys.argv), "state", len(STATE), "pid", os.getpid())
    print("to stderr", file=sys.stderr)
    if cmd and cmd[0] == "sleep":
        time.sleep(float(cmd[1]))
    if cmd and cmd[0] == "exit":
        sys.exit(int(cmd[1]))
    if cmd and cmd[0] == "raise":
        raise ValueError("boom")
'''


@pytest.fixture
def tool_package(tmp_path, monkeypatch):
    pkg = tmp_path / "fake_tools"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "fake.py").write_text(textwrap.dedent(TOOL))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "fake_tools"


def test_parse_runs():
    runs = parse_runs([":::", "a.log", "--x", "1", ":::", "b.log"])
    assert runs == [Run(__import__("pathlib").Path("a.log"), ["--x", "1"]),
                    Run(__import__("pathlib").Path("b.log"), [])]
    for bad, why in (([], "no runs"), (["a.log"], "must start with"), ([":::", ":::", "x.log"], "empty run"),
                     ([":::", "a.log", ":::", "a.log"], "same log")):
        with pytest.raises(RecipeError, match=why):
            parse_runs(bad)


def test_runs_in_forked_children(tmp_path, tool_package):
    runs = [Run(tmp_path / "ok.log", ["--opt", "a b"]), Run(tmp_path / "exit.log", ["exit", "3"]),
            Run(tmp_path / "raise.log", ["raise"]), Run(tmp_path / "sub/ok2.log", [])]
    codes = run_all("fake", runs, jobs=2, package=tool_package)
    assert codes == {tmp_path / "ok.log": 0, tmp_path / "exit.log": 3, tmp_path / "raise.log": 1,
                     tmp_path / "sub/ok2.log": 0}
    ok = (tmp_path / "ok.log").read_text()
    assert ok.splitlines()[0] == "# python -m fake_tools.fake --opt 'a b'"
    assert ok.splitlines()[2].startswith("# Numeric environment: ") and " torch " in ok.splitlines()[2]
    assert "argv fake_tools.fake --opt a b state 1" in ok  # fresh module state in every run
    assert "to stderr" in ok and ok.rstrip().splitlines()[-1].startswith("# Ended (code 0)")
    assert "state 1" in (tmp_path / "sub/ok2.log").read_text()
    assert "ValueError: boom" in (tmp_path / "raise.log").read_text()
    assert "# Ended (code 3)" in (tmp_path / "exit.log").read_text()
    pids = {(tmp_path / n).read_text().split("pid ")[1].split()[0] for n in ("ok.log", "sub/ok2.log")}
    assert len(pids) == 2 and str(__import__("os").getpid()) not in pids


def test_jobs_bound_the_runs_at_a_time(tmp_path, tool_package):
    runs = [Run(tmp_path / f"{i}.log", ["sleep", "1"]) for i in range(4)]
    t0 = time.time()
    assert set(run_all("fake", runs, jobs=4, package=tool_package).values()) == {0}
    parallel = time.time() - t0
    t0 = time.time()
    assert set(run_all("fake", runs[:2], jobs=1, package=tool_package).values()) == {0}
    serial = time.time() - t0
    assert parallel < 3.0 and serial >= 2.0


def test_cli_errors(tmp_path, tool_package, capsys):
    assert espnet_runs.cli(["--tool", "no_such_tool", ":::", str(tmp_path / "a.log")]) == 1
    assert "unknown tool 'no_such_tool'" in capsys.readouterr().err
    assert espnet_runs.cli(["--tool", "enh_train", "--jobs", "0", ":::", str(tmp_path / "a.log")]) == 1
    assert "--jobs must be >= 1" in capsys.readouterr().err
    assert espnet_runs.cli(["--tool", "enh_train"]) == 1
    assert "no runs given" in capsys.readouterr().err


def test_failed_run_is_named(tmp_path, tool_package, capsys, monkeypatch):
    monkeypatch.setattr(espnet_runs, "PACKAGE", tool_package)
    rc = espnet_runs.cli(["--tool", "fake", ":::", str(tmp_path / "good.log"),
                          ":::", str(tmp_path / "bad.log"), "exit", "2"])
    out = capsys.readouterr()
    assert rc == 1 and f"see {tmp_path / 'bad.log'}" in out.err and "good.log" not in out.err
    assert "1 of 2 run(s) of fake succeeded" in out.out
    assert sys.modules.get("fake_tools.fake") is not None  # imported once, in this process
