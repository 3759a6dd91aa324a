"""Shared pytest fixtures.  Test modules import helpers from ``helpers.*``
(``test/helpers``), never from a conftest: several conftest files exist and
pytest gives them all the module name ``conftest``."""

import sys
from pathlib import Path

import pytest

# test/helpers is importable as `helpers` (child processes: helpers.env.subprocess_env)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers.env import REPO, SHARED_DATA  # noqa: E402


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "an4" / "etc").is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA
