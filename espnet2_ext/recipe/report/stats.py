"""The report's statistics: intervals over utterances, spread over seeds.

* :func:`t_interval` - mean and two-sided Student-t interval of values (the
  per-utterance values of a metric): ``mean +- t(1 - a/2, n-1) s / sqrt(n)``;
* :func:`rate_interval` - a corpus rate (WER: total errors / total reference
  words) with a percentile bootstrap interval: utterances resampled with
  replacement ``n_boot`` times (seeded), the rate of each resample;
* :func:`spread` - mean, minimum, maximum and standard deviation over seeds.

Pure functions (numpy and scipy, imported inside them); NaN values are
left out of a mean (a metric an utterance is too short for).
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence


class Interval(NamedTuple):
    mean: float
    lo: float
    hi: float
    n: int


class Spread(NamedTuple):
    mean: float
    min: float
    max: float
    std: float
    n: int


NAN = float("nan")


def _finite(values: Sequence[float]):
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def t_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean with a two-sided Student-t interval; one value: the interval is that value."""
    v = _finite(values)
    if not v:
        return Interval(NAN, NAN, NAN, 0)
    import numpy as np

    m = float(np.mean(v))
    if len(v) < 2:
        return Interval(m, NAN, NAN, 1)
    from scipy.stats import t

    half = float(t.ppf(0.5 + level / 2, len(v) - 1)) * float(np.std(v, ddof=1)) / math.sqrt(len(v))
    return Interval(m, m - half, m + half, len(v))


def rate_interval(errors: Sequence[float], words: Sequence[float], level: float = 0.95,
                  n_boot: int = 2000, seed: int = 0, scale: float = 100.0) -> Interval:
    """``scale * sum(errors) / sum(words)`` with a percentile bootstrap interval
    over utterances (pairs ``(errors[i], words[i])`` resampled together)."""
    import numpy as np

    e = np.asarray(errors, dtype=np.float64)
    w = np.asarray(words, dtype=np.float64)
    if e.shape != w.shape or e.ndim != 1:
        raise ValueError(f"errors and words must be two lists of one length, got {e.shape} and {w.shape}")
    if len(e) == 0 or w.sum() <= 0:
        return Interval(NAN, NAN, NAN, len(e))
    rate = scale * float(e.sum() / w.sum())
    if len(e) < 2 or n_boot < 1:
        return Interval(rate, NAN, NAN, len(e))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(e), size=(n_boot, len(e)))
    we = w[idx].sum(1)
    rates = scale * e[idx].sum(1) / np.where(we > 0, we, np.nan)
    rates = rates[np.isfinite(rates)]
    lo, hi = np.percentile(rates, [50 * (1 - level), 50 * (1 + level)])
    return Interval(rate, float(lo), float(hi), len(e))


def spread(values: Sequence[float]) -> Spread:
    """Mean, min, max and sample standard deviation (NaN for one value) over seeds."""
    v = _finite(values)
    if not v:
        return Spread(NAN, NAN, NAN, NAN, 0)
    import numpy as np

    return Spread(float(np.mean(v)), min(v), max(v), float(np.std(v, ddof=1)) if len(v) > 1 else NAN, len(v))
