"""Noise of the simulation: segments of recordings, or generated noise.

Recordings (any format soundfile reads; resampled to 16 kHz, channels
averaged) are split in two parts: training mixtures draw from the first
``train_fraction`` of each file, dev/test mixtures from the rest, so that the
two never share noise samples.  Without recordings the noise is generated:
coloured noise (1/f^a spectrum, random a) and, when allowed, babble summed
from utterances of speakers not in the mixture.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet2_ext.recipe.common.audio import SAMPLE_RATE, read_audio, resample
from espnet2_ext.recipe.common.cli import RecipeError
from espnet2_ext.recipe.common.kaldi import read_table, wav_path

AUDIO_EXT = (".wav", ".flac", ".sph", ".ogg", ".aiff", ".aif")
GENERATED = ("coloured", "babble")


@lru_cache(maxsize=64)
def load_noise(path: str) -> np.ndarray:
    import soundfile as sf

    try:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:
        raise RecipeError(f"cannot read noise file {path}: {e}") from None
    x = resample(x.mean(axis=1), sr)
    if x.size == 0 or not np.any(x):
        raise RecipeError(f"noise file {path} is empty or silent")
    return np.ascontiguousarray(x)


def list_noise_files(noise_dir: Path) -> List[Path]:
    noise_dir = Path(noise_dir)
    if not noise_dir.is_dir():
        raise RecipeError(f"--noise_dir {noise_dir} is not a directory")
    files = sorted(p for p in noise_dir.rglob("*") if p.suffix.lower() in AUDIO_EXT)
    if not files:
        raise RecipeError(f"--noise_dir {noise_dir} contains no audio files ({', '.join(AUDIO_EXT)})")
    return files


def noise_segment(x: np.ndarray, length: int, part: str, train_fraction: float,
                  rng: np.random.Generator) -> np.ndarray:
    """A ``length``-sample segment from the train or eval part of ``x`` (tiled if short)."""
    cut = int(round(len(x) * train_fraction))
    region = x[:cut] if part == "train" else x[cut:]
    if len(region) == 0:
        raise RecipeError("noise file too short to split into train and eval parts")
    if len(region) >= length:
        start = int(rng.integers(0, len(region) - length + 1))
        return region[start : start + length].copy()
    reps = int(np.ceil(length / len(region)))
    start = int(rng.integers(0, len(region)))
    return np.tile(region, reps + 1)[start : start + length].copy()


def coloured_noise(length: int, rng: np.random.Generator, alpha: Optional[float] = None):
    """Gaussian noise with a 1/f^alpha power spectrum (alpha in [0, 2])."""
    alpha = float(rng.uniform(0.0, 2.0)) if alpha is None else alpha
    spec = np.fft.rfft(rng.standard_normal(length))
    f = np.fft.rfftfreq(length, 1.0 / SAMPLE_RATE)
    f[0] = f[1] if length > 1 else 1.0
    spec = spec / f ** (alpha / 2.0)
    x = np.fft.irfft(spec, n=length)
    return (x / (np.std(x) + 1e-12) * 0.1).astype(np.float32)


def babble(length: int, rng: np.random.Generator, pool: Dict[str, List[str]],
           exclude: Sequence[str], talkers: int = 4) -> np.ndarray:
    """Sum of ``talkers`` utterances of speakers not in ``exclude``, looped to ``length``."""
    spks = sorted(s for s in pool if s not in exclude)
    if not spks:
        raise RecipeError("babble needs training speakers other than the mixture's speakers")
    out = np.zeros(length, dtype=np.float32)
    for _ in range(talkers):
        spk = spks[int(rng.integers(len(spks)))]
        path = pool[spk][int(rng.integers(len(pool[spk])))]
        x, _ = read_audio(path)
        x = x / (np.std(x) + 1e-9)
        reps = int(np.ceil(length / len(x))) + 1
        start = int(rng.integers(0, len(x)))
        out += np.tile(x, reps)[start : start + length]
    return out


class NoiseSource:
    """Where the noise of every mixture comes from.

    Args:
        part: ``train`` or ``eval``: which part of each recording to draw from.
        noise_dir: a folder of recordings (their file stems name them), or
        noise_scp: a ``NAME PATH`` list (wins over ``noise_dir``); with neither,
        generated: the kinds of generated noise (``coloured``, ``babble``), one
            drawn per mixture with equal chances;
        babble_dir: the data dir whose speakers make the babble.
    """

    def __init__(self, part: str, train_fraction: float, noise_dir: Optional[Path] = None,
                 noise_scp: Optional[Path] = None, generated: Sequence[str] = GENERATED,
                 babble_dir: Optional[Path] = None):
        if part not in ("train", "eval"):
            raise RecipeError(f"part must be 'train' or 'eval', got {part!r}")
        if not 0.0 < train_fraction < 1.0:
            raise RecipeError(f"--train_fraction must be in (0, 1), got {train_fraction}")
        self.part, self.train_fraction = part, train_fraction
        self.files = [str(p) for p in list_noise_files(noise_dir)] if noise_dir else []
        self.names = {f: Path(f).stem for f in self.files}
        if noise_scp:
            listed = read_table(Path(noise_scp), "noise list")
            if not listed:
                raise RecipeError(f"noise list {noise_scp} is empty")
            self.files = [wav_path(v, str(noise_scp)) for v in listed.values()]
            self.names = dict(zip(self.files, listed))
        bad = [g for g in generated if g not in GENERATED]
        if bad or not generated:
            raise RecipeError(f"generated noise must be among {', '.join(GENERATED)}, got {list(generated)}")
        self.generated = list(generated)
        self.pool: Dict[str, List[str]] = {}
        if not self.files and "babble" in self.generated:
            if babble_dir is None:
                raise RecipeError("babble noise needs a data dir of speakers (--babble_dir)")
            bwav = read_table(Path(babble_dir) / "wav.scp", "babble source wav.scp")
            bspk = read_table(Path(babble_dir) / "utt2spk", "babble source utt2spk")
            for u, p in bwav.items():
                self.pool.setdefault(bspk[u], []).append(wav_path(p, str(Path(babble_dir) / "wav.scp")))

    def draw(self, rng: np.random.Generator, length: int, speakers: Sequence[str]
             ) -> Tuple[np.ndarray, str]:
        """A ``length``-sample noise for a mixture of ``speakers``, and its name."""
        if self.files:
            f = self.files[int(rng.integers(len(self.files)))]
            return noise_segment(load_noise(f), length, self.part, self.train_fraction, rng), self.names[f]
        kind = self.generated[0]
        if len(self.generated) > 1:
            kind = self.generated[min(int(rng.random() * len(self.generated)), len(self.generated) - 1)]
        if kind == "coloured":
            return coloured_noise(length, rng), kind
        return babble(length, rng, self.pool, exclude=speakers), kind
