"""Summaries over utterances: 95 % intervals and the positional-shortcut index (pure functions).

Intervals
---------
* a measure: its mean over utterances with a two-sided Student-t interval,
  ``mean +- t_{0.975, n-1} * s / sqrt(n)`` (``s`` the sample standard
  deviation), :func:`t_interval`;
* the index (a ratio of means): a percentile bootstrap over utterances,
  ``n_boot`` resamples of the utterances with replacement from a fixed seed,
  the 2.5th and 97.5th percentiles of the resampled indices,
  :func:`shortcut_index`.

With fewer than two utterances there is no interval (``lo = hi = None``).

The positional-shortcut index
-----------------------------
For one layer and one loss, with ``E`` the mean over utterances of the
``envelope`` measure (a content-free signal at ``u``'s length and positions)
and ``M`` the mean of the ``mismatched`` measure (the same signal at other
absolute positions, in a longer signal)::

    index = (M - E) / M = 1 - E / M

It is the share of a content-free, mispositioned signal's loss that is
removed by nothing but putting the signal at the reference's positions.
Writing ``S`` for the mean ``self`` measure (the loss of a perfect output),
``M = S + (E - S) + (M - E)``: floor + content effect + position effect, so
the index is the position effect relative to the content effect, the floor
and itself.  It is 1 when the loss sees nothing but position (``E = 0``),
0 when position does not matter (``E = M``, e.g. a shift-equivariant
encoder: the compared frames of both signals are then identical), and
negative when the reference's positions are *worse* than others (possible
for a training loss that moves the reference, ``ssl_mse_pad``/``ssl_sdtw``).
A loss that perturbs the reference's position or length in training, or
aligns sequences by content, leaves a content-free signal less to gain from
sitting at ``u``'s positions: its index is lower.  A ratio of means (not a
mean of per-utterance ratios) keeps utterances with tiny losses from
dominating.
"""

import math
from typing import Dict, Optional, Sequence

import numpy as np

CONFIDENCE = 0.95
DEFAULT_BOOTSTRAP = 2000


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Dict[str, Optional[float]]:
    """Mean and two-sided Student-t interval of ``values``: ``{mean, lo, hi, n}``.

    Non-finite values are an error (they would silently poison the mean).
    """
    from scipy.stats import t as student_t

    x = np.asarray(list(values), dtype=np.float64)
    if x.size == 0:
        raise ValueError("t_interval: no values")
    if not np.isfinite(x).all():
        raise ValueError(f"t_interval: non-finite values {x[~np.isfinite(x)].tolist()}")
    mean = float(x.mean())
    if x.size < 2:
        return {"mean": mean, "lo": None, "hi": None, "n": int(x.size)}
    half = float(student_t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return {"mean": mean, "lo": mean - half, "hi": mean + half, "n": int(x.size)}


def index_value(envelope_mean: float, mismatched_mean: float) -> Optional[float]:
    """``1 - E / M`` (None when ``M`` is 0: no loss to explain)."""
    if mismatched_mean == 0:
        return None
    return 1.0 - envelope_mean / mismatched_mean


def shortcut_index(
    envelope: Sequence[float],
    mismatched: Sequence[float],
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> Dict[str, Optional[float]]:
    """The positional-shortcut index with its bootstrap interval: ``{mean, lo, hi, n}``.

    ``envelope`` and ``mismatched`` hold one value per utterance (same order).
    ``mean`` is the index of the full set (not a bootstrap average).
    """
    e = np.asarray(list(envelope), dtype=np.float64)
    m = np.asarray(list(mismatched), dtype=np.float64)
    if e.shape != m.shape or e.size == 0:
        raise ValueError(f"shortcut_index: need as many envelope as mismatched values (> 0), got {e.size}, {m.size}")
    if not (np.isfinite(e).all() and np.isfinite(m).all()):
        raise ValueError("shortcut_index: non-finite loss values")
    value = index_value(float(e.mean()), float(m.mean()))
    out: Dict[str, Optional[float]] = {"mean": value, "lo": None, "hi": None, "n": int(e.size)}
    if value is None or e.size < 2 or n_boot < 1:
        return out
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, e.size, size=(int(n_boot), e.size))
    em, mm = e[idx].mean(axis=1), m[idx].mean(axis=1)
    ok = mm != 0
    boot = 1.0 - em[ok] / mm[ok]
    if boot.size:
        alpha = (1.0 - confidence) / 2
        out["lo"], out["hi"] = (float(v) for v in np.quantile(boot, [alpha, 1.0 - alpha]))
    return out
