"""Helpers of the recipe tests (import them from here: ``from recipe_helpers import ...``;
``conftest`` is an ambiguous module name when several test folders have one)."""

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


def run_recipe(d: Path, *args, timeout=900):
    """``./run.sh ARGS`` in ``d`` with the local job backend; the CompletedProcess."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "CMD_BACKEND"}
    return subprocess.run(["./run.sh", *args], cwd=d, capture_output=True, text=True,
                          timeout=timeout, env=env)
