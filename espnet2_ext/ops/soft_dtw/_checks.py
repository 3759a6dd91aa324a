"""Argument checks of the public soft-DTW functions: each bad value raises a
``ValueError`` naming the argument and why."""

import math

import numpy as np
import torch

BACKENDS = ("auto", "cpu", "cuda", "reference")


def check_gamma(gamma):
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise ValueError(f"gamma must be a positive float, got {gamma!r}") from None
    if not math.isfinite(g) or g <= 0:
        raise ValueError(f"gamma must be a positive finite float, got {gamma!r}")
    return g


def check_bandwidth(bandwidth):
    if bandwidth is None:
        return None
    try:
        w = float(bandwidth)
    except (TypeError, ValueError):
        raise ValueError(f"bandwidth must be None or a positive number, got {bandwidth!r}") from None
    if math.isnan(w) or w <= 0:
        raise ValueError(f"bandwidth must be None or a positive number, got {bandwidth!r}")
    return w


def check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def simulator_active() -> bool:
    from numba import config

    return bool(config.ENABLE_CUDASIM)


def resolve_backend(backend, device):
    if backend == "auto":
        return "cuda" if device.type == "cuda" else "cpu"
    if backend == "cpu" and device.type != "cpu":
        raise ValueError(f"backend='cpu' needs CPU tensors, got device {device}")
    if backend == "cuda" and device.type != "cuda" and not simulator_active():
        raise ValueError(
            "backend='cuda' needs CUDA tensors (or NUMBA_ENABLE_CUDASIM=1 with CPU tensors), "
            f"got device {device}")
    return backend


def check_tensor(t, name, rank):
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dim() != rank:
        raise ValueError(f"{name} must have rank {rank}, got shape {tuple(t.shape)}")
    if t.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{name} must be float32 or float64, got {t.dtype}")
    if any(s < 1 for s in t.shape):
        raise ValueError(f"{name} must have non-empty dimensions, got shape {tuple(t.shape)}")
    # one reduction instead of an elementwise pass: a NaN or inf anywhere makes
    # the sum non-finite; only then (or on overflow of a finite sum) look closer.
    # CPU tensors are summed by NumPy, in this thread: torch's sum would open an
    # OpenMP region whose workers keep spinning for milliseconds afterwards, on
    # the cores the soft-DTW kernels are about to use
    with torch.no_grad():
        if t.device.type == "cpu":
            a = t.detach().numpy()
            finite = bool(np.isfinite(a.sum())) or bool(np.isfinite(a).all())
        else:
            finite = bool(torch.isfinite(t.sum())) or bool(torch.isfinite(t).all())
        if not finite:
            raise ValueError(f"{name} contains non-finite values (NaN or inf)")


def check_lengths(lengths, name, batch, max_len):
    if lengths is None:
        return torch.full((batch,), max_len, dtype=torch.int64)
    if not isinstance(lengths, torch.Tensor):
        try:
            lengths = torch.as_tensor(lengths)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"{name} must be a 1-D integer tensor") from None
    if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
        raise ValueError(f"{name} must have an integer dtype, got {lengths.dtype}")
    if lengths.dim() != 1 or lengths.shape[0] != batch:
        raise ValueError(f"{name} must have shape ({batch},), got {tuple(lengths.shape)}")
    lengths = lengths.detach().to("cpu", torch.int64)
    if bool((lengths < 1).any()) or bool((lengths > max_len).any()):
        raise ValueError(f"{name} values must be in [1, {max_len}], got {lengths.tolist()}")
    return lengths.contiguous()
