"""Helpers of the recipe tests (import them from here: ``from recipe_helpers import ...``;
``conftest`` is an ambiguous module name when several test folders have one)."""

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
RECIPE = REPO / "egs2" / "mini_an4" / "enh1"


def speech_like(n, seed=0, sr=16000):
    """A voiced, speech-like test signal (harmonics with a syllable envelope)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = 0.5 * (1 + np.sin(2 * np.pi * 3.0 * t - np.pi / 2))
    x = x * env + 0.01 * rng.standard_normal(n)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def make_an4(root: Path, utts=None, sr=16000, n=16000):
    """A tiny AN4-layout corpus. ``utts``: list of (part, spk, id, words)."""
    utts = utts or [
        ("train", "fabc", "an1-fabc-b", "YES"),
        ("train", "fabc", "an2-fabc-b", "NO"),
        ("train", "mdef", "an3-mdef-b", "ONE TWO"),
        ("train", "mghi", "an4-mghi-b", "STOP"),
        ("train", "mjkl", "an5-mjkl-b", "GO"),
        ("test", "fxyz", "an9-fxyz-b", "REPEAT"),
    ]
    (root / "etc").mkdir(parents=True, exist_ok=True)
    trans = {"train": [], "test": []}
    ids = {"train": [], "test": []}
    for i, (part, spk, utt, words) in enumerate(utts):
        d = "an4_clstk" if part == "train" else "an4test_clstk"
        p = root / "wav" / d / spk / f"{utt}.sph"
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(p), speech_like(n, i, sr), sr, format="NIST", subtype="PCM_16")
        trans[part].append(f"<s> {words} </s> ({utt})" if part == "train" else f"{words} ({utt})")
        ids[part].append(f"{d}/{spk}/{utt}")
    for part in ("train", "test"):
        (root / "etc" / f"an4_{part}.transcription").write_text("\n".join(trans[part]) + "\n")
        (root / "etc" / f"an4_{part}.fileids").write_text("\n".join(ids[part]) + "\n")
    return root


def shared_or_skip():
    if not (SHARED / "an4" / "etc").is_dir() or not (SHARED / "noise").is_dir():
        pytest.skip(f"shared test data not found at {SHARED} (expected an4/ and noise/)")
    return SHARED


RECIPE_FILES = ("run.sh", "enh_ssl.sh", "utils", "path.sh", "cmd.sh", "conf", "local")


def make_recipe_dir(tmp: Path, recipe: Path, names=RECIPE_FILES) -> Path:
    """``tmp/egs2/<corpus>/<task>`` made of symbolic links to the files of
    ``recipe`` (its outputs, data/ exp/ ..., stay in tmp)."""
    d = tmp / "egs2" / recipe.parent.name / recipe.name
    d.mkdir(parents=True)
    for name in names:
        (d / name).symlink_to(recipe / name)
    return d


def _local_env():
    return {k: v for k, v in os.environ.items() if k != "CMD_BACKEND"}


def run_recipe(d: Path, *args, timeout=900):
    """``./run.sh ARGS`` in ``d`` with the local job backend; the CompletedProcess."""
    return subprocess.run(["./run.sh", *args], cwd=d, capture_output=True, text=True,
                          timeout=timeout, env=_local_env())


def run_whole_recipe(d: Path, args) -> dict:
    """Every stage of the recipe in ``d`` once (a module fixture's work): fails
    the test with the end of the output unless it succeeds; ``dir``, ``args``,
    ``out`` (stdout + stderr, also in ``d/test_run.log``) and ``elapsed`` (s)."""
    t0 = time.time()
    r = run_recipe(d, *args)
    elapsed = time.time() - t0
    (d / "test_run.log").write_text(r.stdout + r.stderr)
    assert r.returncode == 0, f"recipe failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return {"dir": d, "args": list(args), "out": r.stdout + r.stderr, "elapsed": elapsed}


def start_recipe(d: Path, *args, log: Path) -> subprocess.Popen:
    """``./run.sh ARGS`` in ``d`` in the background (output into ``log``)."""
    with open(log, "w") as out:
        return subprocess.Popen(["./run.sh", *args], cwd=d, stdout=out,
                                stderr=subprocess.STDOUT, env=_local_env())


def _children() -> dict:
    kids: dict = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kids.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return kids


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc`` and every process below it, as a node preemption would
    (the local launcher puts its jobs in sessions of their own, so a process
    group is not enough).  The tree is frozen (SIGSTOP) first, so that nothing
    forks or is re-parented away between looking and killing."""
    frozen: set = set()
    while True:
        kids, todo, tree = _children(), [proc.pid], []
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += kids.get(pid, [])
        new = [p for p in tree if p not in frozen]
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
            frozen.add(pid)
    for pid in frozen:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
