"""Probe signals built from one utterance (pure functions, no file I/O).

Every function takes and returns 1-D float waveforms ``(T,)`` at 16 kHz.
Random signals take a ``torch.Generator`` so that the probe is reproducible.

* :func:`place` -- zero samples before/after a signal, in whole hops (the
  rule of ``ssl_mse_pad``: hop-aligned padding keeps each frame's samples);
* :func:`fit_length` -- cut or zero-pad (at the end) to a given length;
* :func:`energy_envelope` -- short-time RMS, linearly interpolated per sample;
* :func:`envelope_noise` -- white Gaussian noise times that envelope: the
  length and energy contour of the utterance, none of its spectral content;
* :func:`white_noise` -- stationary noise with the utterance's overall RMS.
"""

import torch
import torch.nn.functional as F

from espnet2_ext.augment import zero_pad


def _check_wave(x: torch.Tensor, what: str = "x") -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 1 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{what} must be a 1-D floating-point waveform (T,), got {shape}")


def place(x: torch.Tensor, head_hops: int, tail_hops: int, hop: int) -> torch.Tensor:
    """``head_hops * hop`` zeros before ``x`` and ``tail_hops * hop`` after: (T,) -> (T + (head+tail)*hop,).

    With an encoder of hop ``hop``, frame ``head_hops + j`` of the result
    covers the same samples of ``x`` as frame ``j`` of ``x``.
    """
    _check_wave(x)
    if head_hops < 0 or tail_hops < 0 or hop <= 0:
        raise ValueError(f"place: hops must be >= 0 and hop > 0, got {head_hops}, {tail_hops}, {hop}")
    y, n = x[None], torch.tensor([x.shape[0]])
    if head_hops:
        y, n = zero_pad(y, n, head_hops * hop, where="start")
    if tail_hops:
        y, n = zero_pad(y, n, tail_hops * hop, where="end")
    return y[0]


def fit_length(x: torch.Tensor, length: int) -> torch.Tensor:
    """Cut ``x`` to ``length`` samples, or zero-pad it at the end: (T,) -> (length,)."""
    _check_wave(x)
    if length < 0:
        raise ValueError(f"fit_length: length must be >= 0, got {length}")
    if x.shape[0] >= length:
        return x[:length]
    return F.pad(x, (0, length - x.shape[0]))


def energy_envelope(x: torch.Tensor, win: int = 320, hop: int = 160) -> torch.Tensor:
    """Short-time RMS of ``x`` per sample: (T,) -> (T,).

    Frame ``i`` is centred on sample ``i * hop`` and spans ``win`` samples;
    its RMS is taken over the samples of the window that lie inside the
    signal (no padding bias at the edges).  Between frame centres the RMS is
    linearly interpolated.  A constant signal ``c`` gives ``|c|`` everywhere.
    """
    _check_wave(x)
    if win <= 0 or hop <= 0:
        raise ValueError(f"energy_envelope: win and hop must be > 0, got {win}, {hop}")
    T = x.shape[0]
    if T == 0:
        return x.clone()
    half = win // 2
    sq = F.pad(x.double()[None, None] ** 2, (half, win - half))
    ones = F.pad(torch.ones(1, 1, T, dtype=torch.float64), (half, win - half))
    n_frames = (T - 1) // hop + 1  # centres 0, hop, ..., <= T - 1
    energy = F.avg_pool1d(sq, win, hop)[0, 0, :n_frames]
    count = F.avg_pool1d(ones, win, hop)[0, 0, :n_frames]
    rms = torch.sqrt(energy / count.clamp(min=1e-12))
    pos = torch.arange(T, dtype=torch.float64) / hop
    i0 = pos.floor().long().clamp(max=n_frames - 1)
    i1 = (i0 + 1).clamp(max=n_frames - 1)
    w = pos - i0.double()
    return ((1 - w) * rms[i0] + w * rms[i1]).to(x.dtype)


def envelope_noise(x: torch.Tensor, generator: torch.Generator, win: int = 320, hop: int = 160) -> torch.Tensor:
    """Gaussian white noise shaped by :func:`energy_envelope` of ``x``: (T,) -> (T,).

    Same length and local energy as ``x`` (in expectation), flat spectrum, no
    phonetic content.
    """
    env = energy_envelope(x, win, hop)
    noise = torch.randn(x.shape[0], generator=generator, dtype=torch.float64).to(x.dtype)
    return noise * env


def white_noise(length: int, rms: float, generator: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    """Gaussian white noise of ``length`` samples scaled to exactly ``rms``: -> (length,)."""
    if length <= 0:
        raise ValueError(f"white_noise: length must be > 0, got {length}")
    n = torch.randn(length, generator=generator, dtype=torch.float64)
    n = n / n.pow(2).mean().sqrt().clamp(min=1e-12) * float(rms)
    return n.to(dtype)


def rms(x: torch.Tensor) -> float:
    """Root mean square of a waveform (0 for an empty one)."""
    _check_wave(x)
    return float(x.double().pow(2).mean().sqrt()) if x.numel() else 0.0
