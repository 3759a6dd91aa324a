"""Soft-DTW (Cuturi & Blondel, 2017) with Numba CPU / Numba CUDA kernels.

Public API
----------
``soft_dtw(x, y, x_lengths=None, y_lengths=None, gamma=0.1, bandwidth=None,
normalize=False, backend="auto") -> Tensor (B,)``
    ``x`` (B, N, d), ``y`` (B, M, d); frame cost is the squared Euclidean
    distance, built with matrix products (``|x|^2 + |y|^2 - 2 x y^T``, clamped
    at 0), so memory is O(B N M), never O(B N M d).  Gradients flow to ``x`` and
    ``y``; padded frames (beyond ``x_lengths`` / ``y_lengths``) get exactly
    zero gradient and do not influence the value.  The cost's backward is
    fused (one matrix product per input, or, on CPU when the DP gradient is
    nonzero on few cells, i.e. a sharp alignment, a sum over those cells).
``soft_dtw_from_cost(cost, x_lengths=None, y_lengths=None, gamma=0.1,
bandwidth=None, backend="auto") -> Tensor (B,)``
    Same DP on a precomputed cost matrix (B, N, M) (L1, cosine, ...);
    the gradient flows to ``cost``.
``SoftDTW(gamma=0.1, bandwidth=None, normalize=False, backend="auto")``
    ``nn.Module`` form; ``forward(x, y, x_lengths=None, y_lengths=None)``.

Semantics
---------
* ``R[i, j] = D[i, j] + softmin_gamma(R[i-1, j-1], R[i-1, j], R[i, j-1])``,
  ``softmin_gamma(a) = -gamma * log(sum(exp(-a / gamma)))``, ``R[-1, -1] = 0``,
  other boundaries +inf; the result of item ``b`` is
  ``R[x_lengths[b] - 1, y_lengths[b] - 1]``.
* ``normalize=True``: soft-DTW divergence
  ``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2`` (any N, M, per-item lengths;
  the same band rule is applied to each of the three terms).
* ``bandwidth=w`` (frames, > 0): Sakoe-Chiba band scaled for N != M.  With an
  item's valid lengths n, m, cell (i, j) (0-based) is computed iff
  ``|i (m - 1) - j (n - 1)| <= max(w, 0.5) * max(n - 1, m - 1)``: within ``w``
  frames (counted along the shorter sequence) of the straight line from
  (0, 0) to (n - 1, m - 1).  For n == m this is ``|i - j| <= w``.  The 0.5
  floor keeps the end cell reachable for every (n, m).  Cells outside the band
  are never computed (the work shrinks with the band) and get zero gradient.
* ``backend``: ``"cpu"`` (Numba njit, CPU tensors), ``"cuda"`` (Numba CUDA,
  CUDA tensors, zero-copy on torch's current stream; with
  ``NUMBA_ENABLE_CUDASIM=1`` it runs on CPU tensors through the simulator),
  ``"reference"`` (plain PyTorch DP, any device, for tests), ``"auto"``
  (``"cuda"`` for CUDA tensors, else ``"cpu"``).
* The computation follows the input dtype (float32 or float64).  The backward
  weights are the forward soft-min probabilities (recomputed from the stored
  predecessors with the forward's own arithmetic), which keeps float32
  gradients accurate at small gamma.
* Invalid input raises ``ValueError`` naming the argument.

Tolerances against the float64 reference, as asserted in test/ops (errors
relative to the largest magnitude of the compared tensor, gamma in
[0.001, 1], random variable-length batches): float64 kernels 1e-8 for values
and gradients; float32 kernels 2e-5 for values (1e-4 for the divergence,
a difference of three terms), 2e-3 for gradients.  The CUDA kernels are held
to the same tolerances on the simulator.

CPU threads: the batch is split over ``NUMBA_NUM_THREADS`` (default
``torch.get_num_threads()``) Python threads running the GIL-free kernels;
small batches (< 65536 band cells per thread) stay on one thread.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from ._band import diag_bounds, row_bounds

__all__ = ["soft_dtw", "soft_dtw_from_cost", "SoftDTW", "BACKENDS"]

BACKENDS = ("auto", "cpu", "cuda", "reference")


# ----------------------------------------------------------------------------
# validation


def _check_gamma(gamma):
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise ValueError(f"gamma must be a positive float, got {gamma!r}") from None
    if not math.isfinite(g) or g <= 0:
        raise ValueError(f"gamma must be a positive finite float, got {gamma!r}")
    return g


def _check_bandwidth(bandwidth):
    if bandwidth is None:
        return None
    try:
        w = float(bandwidth)
    except (TypeError, ValueError):
        raise ValueError(f"bandwidth must be None or a positive number, got {bandwidth!r}") from None
    if math.isnan(w) or w <= 0:
        raise ValueError(f"bandwidth must be None or a positive number, got {bandwidth!r}")
    return w


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def _simulator_active() -> bool:
    from numba import config

    return bool(config.ENABLE_CUDASIM)


def _resolve_backend(backend, device):
    if backend == "auto":
        return "cuda" if device.type == "cuda" else "cpu"
    if backend == "cpu" and device.type != "cpu":
        raise ValueError(f"backend='cpu' needs CPU tensors, got device {device}")
    if backend == "cuda" and device.type != "cuda" and not _simulator_active():
        raise ValueError(
            "backend='cuda' needs CUDA tensors (or NUMBA_ENABLE_CUDASIM=1 with CPU tensors), "
            f"got device {device}")
    return backend


def _check_tensor(t, name, rank):
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dim() != rank:
        raise ValueError(f"{name} must have rank {rank}, got shape {tuple(t.shape)}")
    if t.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{name} must be float32 or float64, got {t.dtype}")
    if any(s < 1 for s in t.shape):
        raise ValueError(f"{name} must have non-empty dimensions, got shape {tuple(t.shape)}")
    # one reduction instead of an elementwise pass: a NaN or inf anywhere makes
    # the sum non-finite; only then (or on overflow of a finite sum) look closer
    with torch.no_grad():
        if not bool(torch.isfinite(t.sum())) and not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} contains non-finite values (NaN or inf)")


def _check_lengths(lengths, name, batch, max_len):
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


# ----------------------------------------------------------------------------
# the autograd Function wrapping the kernels


# exp(-cut) < eps / 2: such a predecessor cannot change the soft-min sum (>= 1)
_CUT = {np.float32: 17.0, np.float64: 37.0}


# below this many band cells in the batch, one thread does everything
_MIN_CELLS_PER_THREAD = 1 << 16


def _cpu_threads():
    import os

    env = os.environ.get("NUMBA_NUM_THREADS")
    return int(env) if env else torch.get_num_threads()


def _cpu_items(nx, ny, lo, hi):
    from . import _cpu

    lists, cells = _cpu.split_items(nx.numpy(), ny.numpy(), lo.numpy(), hi.numpy(), _cpu_threads())
    n = max(1, min(len(lists), cells // _MIN_CELLS_PER_THREAD))
    if n < len(lists):
        lists, _ = _cpu.split_items(nx.numpy(), ny.numpy(), lo.numpy(), hi.numpy(), n)
    return lists


def _np_dtype(dtype):
    return np.float32 if dtype == torch.float32 else np.float64


class _SoftDTWKernel(torch.autograd.Function):
    """cost (B, N, M) -> R[n-1, m-1] (B,) with the Numba CPU or CUDA kernels."""

    @staticmethod
    def forward(ctx, cost, nx, ny, lo, hi, gamma, backend):
        D = cost.detach().contiguous()
        B, N, M = D.shape
        T = _np_dtype(D.dtype)
        g, inf, cut = T(gamma), T(np.inf), T(_CUT[T])
        with np.errstate(over="ignore", divide="ignore"):
            if not np.isfinite(T(1) / g):
                raise ValueError(f"gamma={gamma!r} is too small for {D.dtype} (1/gamma overflows)")
        R = torch.empty_like(D)
        out = D.new_empty(B)
        if backend == "cpu":
            from . import _cpu

            items = _cpu_items(nx, ny, lo, hi)
            _cpu.run_batched(_cpu.sdtw_forward,
                             (D.numpy(), nx.numpy(), ny.numpy(), lo.numpy(), hi.numpy(), g, inf, cut),
                             (R.numpy(), out.numpy()), items)
            extra = ()
        else:
            from . import _cuda

            dlo, dhi = diag_bounds(lo, hi, N + M - 1)
            dev = D.device
            nx, ny, lo, hi, dlo, dhi = (t.to(dev) for t in (nx, ny, lo, hi, dlo, dhi))
            _cuda.forward(D, nx, ny, lo, hi, dlo, dhi, g, inf, cut, R, out)
            extra = (dlo, dhi)
        ctx.backend = backend
        ctx.gamma = gamma
        ctx.save_for_backward(R, nx, ny, lo, hi, *extra)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, gout):
        R, nx, ny, lo, hi, *extra = ctx.saved_tensors
        T = _np_dtype(R.dtype)
        g, inf, cut = T(ctx.gamma), T(np.inf), T(_CUT[T])
        gout = gout.detach().to(R.dtype).contiguous()
        E = torch.zeros_like(R)
        if ctx.backend == "cpu":
            from . import _cpu

            items = _cpu_items(nx, ny, lo, hi)
            _cpu.run_batched(_cpu.sdtw_backward,
                             (R.numpy(), nx.numpy(), ny.numpy(), lo.numpy(), hi.numpy(), g, inf, cut,
                              gout.numpy()),
                             (E.numpy(),), items)
        else:
            from . import _cuda

            dlo, dhi = extra
            B, N, _ = R.shape
            msg = R.new_zeros((B, 3, N, 3))
            _cuda.backward(R, nx, ny, lo, hi, dlo, dhi, g, inf, cut, gout, msg, E)
        return E, None, None, None, None, None, None


# ----------------------------------------------------------------------------
# public functions


def _dp(cost, nx, ny, gamma, bandwidth, backend):
    lo, hi = row_bounds(nx, ny, cost.shape[1], bandwidth)
    if backend == "reference":
        from ._reference import soft_dtw_reference

        return soft_dtw_reference(cost, nx, ny, lo, hi, gamma)
    return _SoftDTWKernel.apply(cost, nx, ny, lo, hi, gamma, backend)


def _sq_euclidean_autograd(x, y):
    """(B, N, M) squared distances via matrix products, clamped at 0, with
    torch's own autograd (the reference backend's cost, which the tests hold
    the fused version below to)."""
    x2 = (x * x).sum(-1).unsqueeze(-1)
    y2 = (y * y).sum(-1).unsqueeze(-2)
    return torch.relu(torch.baddbmm(x2 + y2, x, y.transpose(1, 2), alpha=-2.0))


class _SqEuclidean(torch.autograd.Function):
    """Squared Euclidean cost (B, N, M) of x (B, N, d), y (B, M, d), one
    matrix product forward and one per input backward.

    ``D[i, j] = max(|x_i|^2 + |y_j|^2 - 2 x_i . y_j, 0)``; with ``G = dL/dD``:
    ``dL/dx = 2 (x * rowsum(G) - G y)``, ``dL/dy = 2 (y * colsum(G) - G^T x)``.
    The clamp only guards against rounding below zero (the distance of a frame
    to itself); its gradient is taken as the distance's own, which is 0 there
    up to that rounding.  A frame whose row (column) of ``G`` is all zero,
    i.e. a padded frame, gets an exactly zero gradient.
    """

    @staticmethod
    def forward(ctx, x, y):
        x2 = (x * x).sum(-1).unsqueeze(-1)
        y2 = (y * y).sum(-1).unsqueeze(-2)
        D = torch.baddbmm(y2, x, y.transpose(1, 2), alpha=-2.0).add_(x2).clamp_min_(0.0)
        ctx.save_for_backward(x, y)
        return D

    @staticmethod
    @once_differentiable
    def backward(ctx, G):
        x, y = ctx.saved_tensors
        want_x, want_y = ctx.needs_input_grad[:2]
        G = G.contiguous()
        # Sharp alignments (gamma small against the cost differences) leave
        # G nonzero only near the path; then the sum over those cells is far
        # cheaper than two dense matrix products.  Taken only while its
        # (nnz, d) temporaries are no larger than G itself, so memory stays
        # O(B N M); CPU only (on a GPU the count would cost a synchronisation
        # and the dense products are cheap).
        if G.device.type == "cpu" and (
                int(torch.count_nonzero(G)) * x.shape[-1] <= G.numel() * _SPARSE_GRAD_FRACTION):
            return _sq_euclidean_grad_sparse(x, y, G, want_x, want_y)
        gx = gy = None
        if want_x:
            gx = torch.baddbmm(x * G.sum(2, keepdim=True), G, y, beta=2.0, alpha=-2.0)
        if want_y:
            gy = torch.baddbmm(y * G.sum(1).unsqueeze(-1), G.transpose(1, 2), x, beta=2.0, alpha=-2.0)
        return gx, gy


# the sparse gradient path's temporaries (nnz x d) may be this fraction of G's size
_SPARSE_GRAD_FRACTION = 1.0


def _sq_euclidean_grad_sparse(x, y, G, want_x, want_y):
    """dL/dx, dL/dy of the squared Euclidean cost from the nonzero cells of G
    only: each cell (b, i, j) adds ``2 G (x_i - y_j)`` to x_i and its negative to y_j."""
    B, N, M = G.shape
    d = x.shape[-1]
    flat = torch.flatten(G)
    cells = torch.flatten(flat.nonzero())
    rows = torch.div(cells, M, rounding_mode="floor")  # b * N + i
    cols = torch.div(cells, N * M, rounding_mode="floor") * M + cells % M  # b * M + j
    xr = x.reshape(B * N, d)
    yr = y.reshape(B * M, d)
    contrib = (xr.index_select(0, rows) - yr.index_select(0, cols)).mul_((2.0 * flat[cells]).unsqueeze(-1))
    gx = gy = None
    if want_x:
        gx = x.new_zeros(B * N, d).index_add_(0, rows, contrib).view(B, N, d)
    if want_y:
        gy = y.new_zeros(B * M, d).index_add_(0, cols, contrib, alpha=-1).view(B, M, d)
    return gx, gy


def _sq_euclidean(x, y, backend="cpu"):
    """(B, N, M) squared distances via matrix products, clamped at 0."""
    if backend == "reference":
        return _sq_euclidean_autograd(x, y)
    return _SqEuclidean.apply(x, y)


def soft_dtw_from_cost(cost: torch.Tensor,
                       x_lengths: Optional[torch.Tensor] = None,
                       y_lengths: Optional[torch.Tensor] = None,
                       gamma: float = 0.1,
                       bandwidth: Optional[float] = None,
                       backend: str = "auto") -> torch.Tensor:
    """Soft-DTW of a precomputed cost matrix ``cost`` (B, N, M) -> (B,)."""
    gamma = _check_gamma(gamma)
    bandwidth = _check_bandwidth(bandwidth)
    backend = _check_backend(backend)
    _check_tensor(cost, "cost", 3)
    B, N, M = cost.shape
    nx = _check_lengths(x_lengths, "x_lengths", B, N)
    ny = _check_lengths(y_lengths, "y_lengths", B, M)
    backend = _resolve_backend(backend, cost.device)
    return _dp(cost, nx, ny, gamma, bandwidth, backend)


def soft_dtw(x: torch.Tensor,
             y: torch.Tensor,
             x_lengths: Optional[torch.Tensor] = None,
             y_lengths: Optional[torch.Tensor] = None,
             gamma: float = 0.1,
             bandwidth: Optional[float] = None,
             normalize: bool = False,
             backend: str = "auto") -> torch.Tensor:
    """Soft-DTW between ``x`` (B, N, d) and ``y`` (B, M, d) -> (B,)."""
    gamma = _check_gamma(gamma)
    bandwidth = _check_bandwidth(bandwidth)
    backend = _check_backend(backend)
    _check_tensor(x, "x", 3)
    _check_tensor(y, "y", 3)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y batch size {y.shape[0]} != x batch size {x.shape[0]}")
    if y.shape[2] != x.shape[2]:
        raise ValueError(f"y feature dim {y.shape[2]} != x feature dim {x.shape[2]}")
    if y.dtype != x.dtype:
        raise ValueError(f"y dtype {y.dtype} != x dtype {x.dtype}")
    if y.device != x.device:
        raise ValueError(f"y device {y.device} != x device {x.device}")
    B, N, _ = x.shape
    M = y.shape[1]
    nx = _check_lengths(x_lengths, "x_lengths", B, N)
    ny = _check_lengths(y_lengths, "y_lengths", B, M)
    backend = _resolve_backend(backend, x.device)
    value = _dp(_sq_euclidean(x, y, backend), nx, ny, gamma, bandwidth, backend)
    if normalize:
        vxx = _dp(_sq_euclidean(x, x, backend), nx, nx, gamma, bandwidth, backend)
        vyy = _dp(_sq_euclidean(y, y, backend), ny, ny, gamma, bandwidth, backend)
        value = value - 0.5 * (vxx + vyy)
    return value


class SoftDTW(torch.nn.Module):
    """``nn.Module`` wrapper of :func:`soft_dtw` (arguments validated at construction)."""

    def __init__(self, gamma: float = 0.1, bandwidth: Optional[float] = None,
                 normalize: bool = False, backend: str = "auto"):
        super().__init__()
        self.gamma = _check_gamma(gamma)
        self.bandwidth = _check_bandwidth(bandwidth)
        self.normalize = bool(normalize)
        self.backend = _check_backend(backend)

    def forward(self, x, y, x_lengths=None, y_lengths=None):
        return soft_dtw(x, y, x_lengths, y_lengths, gamma=self.gamma, bandwidth=self.bandwidth,
                        normalize=self.normalize, backend=self.backend)

    def extra_repr(self):
        return (f"gamma={self.gamma}, bandwidth={self.bandwidth}, "
                f"normalize={self.normalize}, backend={self.backend!r}")
