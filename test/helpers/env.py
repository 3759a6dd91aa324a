"""Paths and child-process environment for tests (import as ``helpers.env``)."""

import os
from pathlib import Path

TEST_DIR = Path(__file__).resolve().parents[1]
REPO = TEST_DIR.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def subprocess_env(**extra) -> dict:
    """Environment for child Pythons: repo and test helpers importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(TEST_DIR), str(REPO), env.get("PYTHONPATH", "")]
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update({k: str(v) for k, v in extra.items()})
    return env
