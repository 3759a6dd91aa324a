"""Tiny generated enhancement/separation corpora for ESPnet training tests."""

from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import soundfile as sf

FS = 16000


def _tone_speech(rng: np.random.Generator, n: int) -> np.ndarray:
    """A speech-like signal: harmonic tones with a syllable-rate envelope."""
    t = np.arange(n) / FS
    f0 = rng.uniform(100, 220)
    sig = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 6))
    env = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6.3)))
    return (0.3 * sig * env).astype(np.float32)


def make_corpus(
    root: Path,
    lengths: Dict[str, Sequence[int]],
    num_spk: int = 1,
    snr_db: float = 5.0,
    seed: int = 0,
) -> Dict[str, Path]:
    """Write ``root/<set>/{wav.scp,spk1.scp,...,utt2len}`` for each set.

    Args:
        lengths: per set, the length in samples of each utterance (all
            distinct, so tests can recognise utterances by length).
    Returns:
        the data directory of each set.
    """
    rng = np.random.default_rng(seed)
    dirs = {}
    for name, lens in lengths.items():
        d = Path(root) / name
        (d / "wav").mkdir(parents=True, exist_ok=True)
        scp: Dict[str, List[str]] = {"wav.scp": []}
        for s in range(num_spk):
            scp[f"spk{s + 1}.scp"] = []
        utt2len = []
        for i, n in enumerate(lens):
            utt = f"{name}_utt{i:03d}"
            srcs = [_tone_speech(rng, n) for _ in range(num_spk)]
            noise = rng.standard_normal(n).astype(np.float32)
            p_sig = np.mean(srcs[0] ** 2)
            noise *= np.sqrt(p_sig / (10 ** (snr_db / 10)) / np.mean(noise**2))
            mix = sum(srcs) + noise
            for s, src in enumerate(srcs):
                path = d / "wav" / f"{utt}_spk{s + 1}.wav"
                sf.write(path, src, FS)
                scp[f"spk{s + 1}.scp"].append(f"{utt} {path}")
            path = d / "wav" / f"{utt}_mix.wav"
            sf.write(path, mix, FS)
            scp["wav.scp"].append(f"{utt} {path}")
            utt2len.append(f"{utt} {n}")
        for fname, lines in scp.items():
            (d / fname).write_text("\n".join(sorted(lines)) + "\n")
        (d / "utt2len").write_text("\n".join(sorted(utt2len)) + "\n")
        dirs[name] = d
    return dirs
