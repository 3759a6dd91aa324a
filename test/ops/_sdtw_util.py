"""Shared helpers for the soft-DTW tests (imported by file name, no package)."""

import torch


def make_batch(B, N, M, d, dtype=torch.float64, seed=0, scale=None, lengths=True):
    g = torch.Generator().manual_seed(seed)
    s = scale if scale is not None else d ** -0.5
    x = (torch.randn(B, N, d, generator=g, dtype=torch.float64) * s).to(dtype)
    y = (torch.randn(B, M, d, generator=g, dtype=torch.float64) * s).to(dtype)
    if lengths:
        xl = torch.randint(1, N + 1, (B,), generator=g)
        yl = torch.randint(1, M + 1, (B,), generator=g)
        xl[0], yl[0] = N, M
    else:
        xl = yl = None
    return x, y, xl, yl


def value_and_grads(fn, x, y, **kw):
    x = x.detach().clone().requires_grad_(True)
    y = y.detach().clone().requires_grad_(True)
    v = fn(x, y, **kw)
    # a non-uniform upstream gradient exercises grad_output scaling
    w = torch.linspace(0.5, 1.5, v.shape[0], dtype=v.dtype)
    gx, gy = torch.autograd.grad((v * w).sum(), [x, y])
    return v.detach(), gx, gy


def rel_err(a, b):
    a = a.double()
    b = b.double()
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()
