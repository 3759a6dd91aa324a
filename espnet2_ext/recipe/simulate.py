"""Noisy (optionally reverberant) simulation of a clean data directory (stage 2).

For every clean utterance: optional reverberation with a random shoe-box room
(pyroomacoustics), then additive noise at an SNR drawn from ``--snrs``:

* with ``--noise_dir``: segments of the recordings found there (any format
  soundfile reads; resampled to 16 kHz, channels averaged).  Training draws
  from the first ``train_fraction`` of each file, dev/test from the rest,
  so the two never share noise samples;
* with ``--noise_scp`` (``NAME PATH`` per line, e.g. one DEMAND environment per
  line): the same, from exactly those recordings, ``utt2noise`` giving NAME;
* without: a generated default, half coloured noise (1/f^a spectrum, random
  a) and half babble summed from utterances of *other* training speakers.

SNR is the energy ratio of the (reverberant) speech and the scaled noise over
the utterance; if the mixture would clip, all signals are scaled together
(the SNR is kept).  Output: ``wav.scp`` (mixture), ``spk1.scp`` (reference:
the dry speech, or with reverberation the direct path plus 50 ms of early
reflections), ``noise1.scp``, ``utt2snr`` and the clean dir's ``text``,
``utt2spk``, ``spk2utt``, ``utt2dur``.  The random stream of each utterance
is seeded by ``seed`` and the utterance id, so results do not depend on order.
"""

from __future__ import annotations

import argparse
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from espnet2_ext.recipe.common import (
    SAMPLE_RATE,
    RecipeError,
    progress,
    read_audio,
    read_table,
    run_cli,
    str2bool,
    wav_path,
    write_data_dir,
    write_wav,
)

AUDIO_EXT = (".wav", ".flac", ".sph", ".ogg", ".aiff", ".aif")


def utt_rng(seed: int, key: str) -> np.random.Generator:
    h = int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "little")
    return np.random.default_rng(h)


def snr_db(speech: np.ndarray, noise: np.ndarray) -> float:
    """Measured SNR (dB) of two signals over their full length."""
    ps = float(np.sum(speech.astype(np.float64) ** 2))
    pn = float(np.sum(noise.astype(np.float64) ** 2))
    return 10.0 * np.log10(ps / pn)


def scale_noise(speech: np.ndarray, noise: np.ndarray, snr: float) -> np.ndarray:
    """Scale ``noise`` so that ``snr_db(speech, scaled) == snr``."""
    ps = np.sum(speech.astype(np.float64) ** 2)
    pn = np.sum(noise.astype(np.float64) ** 2)
    if ps <= 0:
        raise RecipeError("speech signal is silent; cannot set an SNR")
    if pn <= 0:
        raise RecipeError("noise segment is silent; cannot set an SNR")
    return (noise * np.sqrt(ps / (pn * 10.0 ** (snr / 10.0)))).astype(np.float32)


def mix(speech: np.ndarray, noise: np.ndarray, snr: float, peak: float = 0.9):
    """Return ``(mixture, speech, scaled_noise, gain)``, all scaled by ``gain`` (<= 1)
    so that the mixture does not exceed ``peak``."""
    n = scale_noise(speech, noise, snr)
    m = speech + n
    top = float(np.max(np.abs(m)))
    g = peak / top if top > peak else 1.0
    return m * g, speech * g, n * g, g


def _resample(x: np.ndarray, sr: int) -> np.ndarray:
    if sr == SAMPLE_RATE:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(sr, SAMPLE_RATE)
    return resample_poly(x, SAMPLE_RATE // g, sr // g).astype(np.float32)


@lru_cache(maxsize=64)
def load_noise(path: str) -> np.ndarray:
    import soundfile as sf

    try:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:
        raise RecipeError(f"cannot read noise file {path}: {e}") from None
    x = _resample(x.mean(axis=1), sr)
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


def noise_segment(
    x: np.ndarray, length: int, part: str, train_fraction: float, rng: np.random.Generator
) -> np.ndarray:
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


def babble(length: int, rng: np.random.Generator, pool: Dict[str, List[str]], exclude: str,
           talkers: int = 4) -> np.ndarray:
    """Sum of ``talkers`` utterances of speakers other than ``exclude``, looped to ``length``."""
    spks = sorted(s for s in pool if s != exclude)
    if not spks:
        raise RecipeError("babble needs training speakers other than the target speaker")
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


def random_rir(rng: np.random.Generator, rt60_range=(0.2, 0.6)) -> np.ndarray:
    """RIR of a random shoe-box room (pyroomacoustics image method), peak-aligned at 0."""
    import pyroomacoustics as pra

    dims = np.array([rng.uniform(3, 8), rng.uniform(3, 8), rng.uniform(2.5, 3.5)])
    rt60 = float(rng.uniform(*rt60_range))
    try:
        absorption, max_order = pra.inverse_sabine(rt60, dims)
    except ValueError:  # room too large for that RT60
        absorption, max_order = 0.5, 10
    room = pra.ShoeBox(dims, fs=SAMPLE_RATE, materials=pra.Material(absorption),
                       max_order=min(int(max_order), 12))
    margin = 0.5
    src = [rng.uniform(margin, d - margin) for d in dims]
    mic = [rng.uniform(margin, d - margin) for d in dims]
    room.add_source(src)
    room.add_microphone(mic)
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    peak = int(np.argmax(np.abs(rir)))
    return (rir[peak:] / np.max(np.abs(rir))).astype(np.float32)


def reverberate(x: np.ndarray, rir: np.ndarray, early_ms: float = 50.0):
    """Return ``(reverberant, early)`` speech, both ``len(x)`` long, aligned to the direct path."""
    from scipy.signal import fftconvolve

    early = rir[: int(SAMPLE_RATE * early_ms / 1000)]
    rev = fftconvolve(x, rir)[: len(x)].astype(np.float32)
    ref = fftconvolve(x, early)[: len(x)].astype(np.float32)
    return rev, ref


def simulate(
    src_dir: Path,
    out_dir: Path,
    wav_dir: Path,
    part: str,
    snrs: Sequence[float],
    noise_dir: Optional[Path] = None,
    babble_dir: Optional[Path] = None,
    reverb: bool = False,
    seed: int = 0,
    train_fraction: float = 0.8,
    copies: int = 1,
    noise_scp: Optional[Path] = None,
) -> int:
    """Simulate ``src_dir`` into ``out_dir`` (audio under ``wav_dir``); returns #utterances."""
    if part not in ("train", "eval"):
        raise RecipeError(f"part must be 'train' or 'eval', got {part!r}")
    if not snrs:
        raise RecipeError("no SNRs given (--snrs)")
    if not 0.0 < train_fraction < 1.0:
        raise RecipeError(f"--train_fraction must be in (0, 1), got {train_fraction}")
    src_dir, out_dir, wav_dir = Path(src_dir), Path(out_dir), Path(wav_dir)
    wav = read_table(src_dir / "wav.scp", "clean wav.scp")
    text = read_table(src_dir / "text", "clean text")
    utt2spk = read_table(src_dir / "utt2spk", "clean utt2spk")
    noise_files = [str(p) for p in list_noise_files(noise_dir)] if noise_dir else []
    noise_names = {f: Path(f).stem for f in noise_files}
    if noise_scp:
        listed = read_table(Path(noise_scp), "noise list")
        if not listed:
            raise RecipeError(f"noise list {noise_scp} is empty")
        noise_files = [wav_path(v, str(noise_scp)) for v in listed.values()]
        noise_names = dict(zip(noise_files, listed))
    pool: Dict[str, List[str]] = {}
    if not noise_files:
        bdir = Path(babble_dir) if babble_dir else src_dir
        bwav = read_table(bdir / "wav.scp", "babble source wav.scp")
        bspk = read_table(bdir / "utt2spk", "babble source utt2spk")
        for u, p in bwav.items():
            pool.setdefault(bspk[u], []).append(wav_path(p, str(bdir / "wav.scp")))
    out: Dict[str, Dict[str, str]] = {k: {} for k in
                                      ("wav", "spk1", "noise1", "snr", "text", "spk", "dur", "kind")}
    items = [(u, c) for u in wav for c in range(copies)]
    for utt, c in progress(items, f"simulate {out_dir.name}"):
        key = utt if copies == 1 else f"{utt}-c{c + 1}"
        rng = utt_rng(seed, key)
        clean, sr = read_audio(wav_path(wav[utt], str(src_dir / "wav.scp")))
        if sr != SAMPLE_RATE:
            raise RecipeError(f"{wav[utt]}: sample rate {sr}, expected {SAMPLE_RATE}")
        snr = float(snrs[int(rng.integers(len(snrs)))])
        if reverb:
            speech, ref = reverberate(clean, random_rir(rng))
        else:
            speech, ref = clean, clean
        n = len(clean)
        if noise_files:
            f = noise_files[int(rng.integers(len(noise_files)))]
            noise = noise_segment(load_noise(f), n, part, train_fraction, rng)
            kind = noise_names[f]
        elif rng.random() < 0.5:
            noise = coloured_noise(n, rng)
            kind = "coloured"
        else:
            noise = babble(n, rng, pool, exclude=utt2spk[utt])
            kind = "babble"
        m, _, nz, g = mix(speech, noise, snr)
        ref = ref * g
        paths = {name: wav_dir / name / f"{key}.wav" for name in ("mix", "spk1", "noise1")}
        write_wav(paths["mix"], m)
        write_wav(paths["spk1"], ref)
        write_wav(paths["noise1"], nz)
        out["wav"][key] = str(paths["mix"].resolve())
        out["spk1"][key] = str(paths["spk1"].resolve())
        out["noise1"][key] = str(paths["noise1"].resolve())
        out["snr"][key] = f"{snr:g}"
        out["text"][key] = text[utt]
        out["spk"][key] = utt2spk[utt]
        out["dur"][key] = n / SAMPLE_RATE
        out["kind"][key] = kind
    write_data_dir(out_dir, out["wav"], out["text"], out["spk"], out["dur"],
                   extra={"spk1.scp": out["spk1"], "noise1.scp": out["noise1"],
                          "utt2snr": out["snr"], "utt2noise": out["kind"]})
    return len(items)


def simulation_parser(prog: str, description: str, example_out: str, snrs: str,
                      reverb: bool) -> argparse.ArgumentParser:
    """The options every simulation tool shares (data dirs, noise, seed)."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--src_dir", required=True, help="clean Kaldi data dir")
    p.add_argument("--out_dir", required=True, help=f"output data dir, e.g. {example_out}")
    p.add_argument("--wav_dir", required=True, help="where the simulated audio goes")
    p.add_argument("--part", choices=("train", "eval"), required=True,
                   help="which part of each noise recording to draw from")
    p.add_argument("--snrs", default=snrs, help="noise SNRs (dB) to draw from")
    p.add_argument("--noise_dir", default="", help="folder of noise recordings (empty: generated)")
    p.add_argument("--reverb", type=str2bool, default=reverb)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train_fraction", type=float, default=0.8,
                   help="share of each noise recording drawn for --part train")
    return p


def get_parser() -> argparse.ArgumentParser:
    p = simulation_parser("simulate_noisy", __doc__.split("\n\n")[0], "data/test_noisy",
                          "20 10 5 0", reverb=False)
    p.add_argument("--noise_scp", default="",
                   help="NAME PATH list of noise recordings (instead of --noise_dir)")
    p.add_argument("--babble_dir", default="",
                   help="data dir whose speakers make the generated babble (default: --src_dir)")
    p.add_argument("--copies", type=int, default=1, help="noisy copies per clean utterance")
    return p


def main(argv=None) -> int:
    a = get_parser().parse_args(argv)
    try:
        snrs = [float(v) for v in a.snrs.replace(",", " ").split()]
    except ValueError:
        raise RecipeError(f"--snrs must be numbers in dB, got {a.snrs!r}") from None
    if a.copies < 1:
        raise RecipeError(f"--copies must be >= 1, got {a.copies}")
    n = simulate(Path(a.src_dir), Path(a.out_dir), Path(a.wav_dir), a.part, snrs,
                 Path(a.noise_dir) if a.noise_dir else None,
                 Path(a.babble_dir) if a.babble_dir else None,
                 a.reverb, a.seed, a.train_fraction, a.copies,
                 Path(a.noise_scp) if a.noise_scp else None)
    print(f"simulated {n} utterances into {a.out_dir}")
    return 0


def cli(argv=None) -> int:
    return run_cli(main, argv)
