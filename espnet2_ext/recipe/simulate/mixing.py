"""Signal levels of a simulated mixture: SNR, speaker levels (SIR), offsets, clipping.

Every function takes and returns numpy float32 signals of 16 kHz samples.
"""

from __future__ import annotations

import hashlib
from typing import List, Sequence, Tuple

import numpy as np

from espnet2_ext.recipe.common.cli import RecipeError


def utt_rng(seed: int, key: str) -> np.random.Generator:
    """The random stream of one mixture: seeded by ``seed`` and its id, so that
    results do not depend on the order of the utterances."""
    h = int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "little")
    return np.random.default_rng(h)


def energy(x: np.ndarray) -> float:
    return float(np.sum(x.astype(np.float64) ** 2))


def snr_db(speech: np.ndarray, noise: np.ndarray) -> float:
    """Measured SNR (dB) of two signals over their full length."""
    return 10.0 * np.log10(energy(speech) / energy(noise))


def level_db(x: np.ndarray) -> float:
    return 10.0 * np.log10(energy(x) + 1e-20)


def scale_noise(speech: np.ndarray, noise: np.ndarray, snr: float) -> np.ndarray:
    """Scale ``noise`` so that ``snr_db(speech, scaled) == snr``."""
    ps, pn = energy(speech), energy(noise)
    if ps <= 0:
        raise RecipeError("speech signal is silent; cannot set an SNR")
    if pn <= 0:
        raise RecipeError("noise segment is silent; cannot set an SNR")
    return (noise * np.sqrt(ps / (pn * 10.0 ** (snr / 10.0)))).astype(np.float32)


def mix(speech: np.ndarray, noise: np.ndarray, snr: float, peak: float = 0.9):
    """``(mixture, speech, scaled_noise, gain)``: the noise at ``snr`` dB below the
    speech, then everything scaled by ``gain`` (<= 1) so that the mixture does
    not exceed ``peak`` (the SNR is kept)."""
    n = scale_noise(speech, noise, snr)
    m = speech + n
    top = float(np.max(np.abs(m)))
    g = peak / top if top > peak else 1.0
    return m * g, speech * g, n * g, g


def place(images: Sequence[Sequence[np.ndarray]], offsets: Sequence[int], sirs: Sequence[float]
          ) -> List[List[np.ndarray]]:
    """Put N sources on one time line.

    ``images[i][k]`` is version ``i`` (e.g. reverberant, dry) of source ``k``;
    all versions of a source are equally long, ``images[0]`` is the one the
    levels refer to.  Source ``k >= 1`` starts ``offsets[k - 1]`` samples after
    source 0 and is scaled to ``sirs[k - 1]`` dB below it.  Returns the placed
    versions, all as long as the mixture (no source is cut).
    """
    lead = images[0]
    starts = [0] + list(offsets)
    n = max(s + len(x) for s, x in zip(starts, lead))
    gains = [1.0] + [10.0 ** ((level_db(lead[0]) - level_db(lead[k]) - sir) / 20.0)
                     for k, sir in enumerate(sirs, 1)]
    out = []
    for version in images:
        placed = []
        for x, s, g in zip(version, starts, gains):
            y = np.zeros(n, dtype=np.float32)
            y[s:s + len(x)] = x * g
            placed.append(y)
        out.append(placed)
    return out


def draw_offsets(rng: np.random.Generator, first_len: int, num_spk: int,
                 offsets: Sequence[float], sir_range: Sequence[float], sample_rate: int
                 ) -> Tuple[List[int], List[float]]:
    """Start (samples after speaker 1, at most its length) and level below
    speaker 1 (dB) of speakers 2..N, drawn uniformly from ``offsets`` (s) and
    ``sir_range``."""
    starts, sirs = [], []
    max_off = min(offsets[1], first_len / sample_rate)
    for _ in range(num_spk - 1):
        off_s = float(rng.uniform(min(offsets[0], max_off), max_off))
        starts.append(int(round(off_s * sample_rate)))
        sirs.append(float(rng.uniform(*sir_range)))
    return starts, sirs
