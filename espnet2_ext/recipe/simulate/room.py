"""Room impulse responses of a random shoe-box room (pyroomacoustics image method)."""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from espnet2_ext.recipe.common.audio import SAMPLE_RATE

EARLY_MS = 50.0  # what counts as early reflections (the enhancement reference)


def room_rirs(rng: np.random.Generator, num_src: int, rt60_range: Sequence[float],
              side_range: Sequence[float] = (4.0, 8.0)) -> Tuple[List[np.ndarray], float]:
    """RIRs of ``num_src`` random sources to one microphone in one random room.

    The floor's sides are drawn from ``side_range`` (m), the height from
    2.5-3.5 m, the RT60 from ``rt60_range`` (s); the microphone, then each
    source, at a random place at least 0.5 m from the walls.  Each RIR is cut
    at its direct-path peak and scaled to a unit peak, so that the convolved
    signal stays time-aligned with the dry one, at the direct path's level.
    Returns the RIRs and the RT60.
    """
    import pyroomacoustics as pra

    dims = np.array([rng.uniform(*side_range), rng.uniform(*side_range), rng.uniform(2.5, 3.5)])
    rt60 = float(rng.uniform(*rt60_range))
    try:
        absorption, max_order = pra.inverse_sabine(rt60, dims)
    except ValueError:  # room too large for that RT60
        absorption, max_order = 0.5, 10
    room = pra.ShoeBox(dims, fs=SAMPLE_RATE, materials=pra.Material(absorption),
                       max_order=min(int(max_order), 12))
    margin = 0.5
    room.add_microphone([rng.uniform(margin, d - margin) for d in dims])
    for _ in range(num_src):
        room.add_source([rng.uniform(margin, d - margin) for d in dims])
    room.compute_rir()
    out = []
    for s in range(num_src):
        rir = np.asarray(room.rir[0][s], dtype=np.float64)
        peak = int(np.argmax(np.abs(rir)))
        out.append((rir[peak:] / np.max(np.abs(rir))).astype(np.float32))
    return out, rt60


def convolve(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``x`` through ``rir``, cut to ``len(x)`` (aligned to the direct path)."""
    from scipy.signal import fftconvolve

    return fftconvolve(x, rir)[: len(x)].astype(np.float32)


def early(rir: np.ndarray, ms: float = EARLY_MS) -> np.ndarray:
    """The direct path and the first ``ms`` milliseconds of reflections."""
    return rir[: int(SAMPLE_RATE * ms / 1000)]
