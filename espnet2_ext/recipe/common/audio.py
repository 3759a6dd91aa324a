"""Audio files of the recipes: 16 kHz mono, read as float32."""

from __future__ import annotations

from pathlib import Path

from espnet2_ext.recipe.common.cli import RecipeError

SAMPLE_RATE = 16000
MIN_SAMPLES = 400  # the SSL model's first convolution needs 400 samples


def read_audio(path: str):
    """Read a mono float32 signal; returns ``(signal, sample_rate)``."""
    import numpy as np
    import soundfile as sf

    try:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises several types
        raise RecipeError(f"cannot read audio file {path}: {e}") from None
    if x.shape[1] != 1:
        raise RecipeError(f"{path} has {x.shape[1]} channels; a mono signal is expected")
    return np.ascontiguousarray(x[:, 0]), sr


def read_16k(path: str, what: str):
    """A mono signal that must be at :data:`SAMPLE_RATE`; ``what`` names it in the error."""
    x, sr = read_audio(path)
    if sr != SAMPLE_RATE:
        raise RecipeError(f"{what}: sample rate {sr}, expected {SAMPLE_RATE}")
    return x


def write_wav(path: Path, x, sr: int = SAMPLE_RATE, subtype: str = "PCM_16") -> None:
    import soundfile as sf

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr, subtype=subtype)


def resample(x, sr: int, target: int = SAMPLE_RATE):
    """Polyphase resampling of a float32 signal (unchanged when the rates agree)."""
    if sr == target:
        return x
    from math import gcd

    import numpy as np
    from scipy.signal import resample_poly

    g = gcd(sr, target)
    return resample_poly(x, target // g, sr // g).astype(np.float32)
