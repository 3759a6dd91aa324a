"""Fixtures of the recipe tests; helpers live in recipe_helpers.py."""

import pytest

from recipe_helpers import (  # noqa: F401  (re-exported for older imports)
    RECIPE,
    REPO,
    SHARED,
    make_an4,
    shared_or_skip,
    speech_like,
)


@pytest.fixture
def an4(tmp_path):
    return make_an4(tmp_path / "an4")
