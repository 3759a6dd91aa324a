"""Intervals and the positional-shortcut index on hand-computed cases."""

import math

import pytest

from espnet2_ext.probe.stats import index_value, shortcut_index, t_interval


def test_t_interval_by_hand():
    s = t_interval([1, 2, 3, 4, 5])
    half = 2.7764451052 * math.sqrt(2.5) / math.sqrt(5)  # t_{0.975,4} * s / sqrt(n)
    assert s["mean"] == 3 and s["n"] == 5
    assert s["lo"] == pytest.approx(3 - half) and s["hi"] == pytest.approx(3 + half)


def test_t_interval_edge_cases():
    assert t_interval([2.5]) == {"mean": 2.5, "lo": None, "hi": None, "n": 1}
    assert t_interval([1, 1, 1])["lo"] == 1
    with pytest.raises(ValueError, match="non-finite"):
        t_interval([1.0, float("nan")])
    with pytest.raises(ValueError, match="no values"):
        t_interval([])


def test_index_formula_by_hand():
    assert index_value(2.0, 4.0) == 0.5
    assert index_value(0.0, 3.0) == 1.0  # the loss sees only position
    assert index_value(3.0, 3.0) == 0.0  # position does not matter
    assert index_value(4.0, 2.0) == -1.0  # the reference's positions are worse
    assert index_value(1.0, 0.0) is None
    # ratio of means, not mean of ratios: 1 - mean([1, 3]) / mean([2, 6]) = 0.5
    assert shortcut_index([1, 3], [2, 6])["mean"] == pytest.approx(0.5)


def test_bootstrap_interval_is_seeded_and_brackets_the_index():
    env = [0.1, 0.4, 0.2, 0.5, 0.3, 0.35]
    mis = [0.3, 0.5, 0.45, 0.6, 0.5, 0.4]
    a = shortcut_index(env, mis, n_boot=500, seed=1)
    assert a == shortcut_index(env, mis, n_boot=500, seed=1)
    assert a["lo"] < a["mean"] < a["hi"] <= 1
    assert a["n"] == 6
    c = shortcut_index([1, 1, 1], [2, 2, 2], n_boot=100)
    assert c["lo"] == c["mean"] == c["hi"] == 0.5
    assert shortcut_index([1.0], [2.0])["lo"] is None
    with pytest.raises(ValueError):
        shortcut_index([1, 2], [1])
