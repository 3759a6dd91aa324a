"""Soft-DTW (Cuturi & Blondel, 2017) with Numba CPU / Numba CUDA kernels.

Public API
----------
``soft_dtw(x, y, x_lengths=None, y_lengths=None, gamma=0.1, bandwidth=None,
normalize=False, backend="auto") -> Tensor (B,)``
    ``x`` (B, N, d), ``y`` (B, M, d); frame cost is the squared Euclidean
    distance ``max(|x|^2 + |y|^2 - 2 x y^T, 0)``, so memory is O(B N M),
    never O(B N M d): one batched matrix product on CUDA; on CPU each item's
    cost is computed in the kernels' threads right before its DP, into the
    DP's own table (``_cpu_cost.py``).  Gradients flow to ``x`` and ``y``;
    padded frames (beyond ``x_lengths`` / ``y_lengths``) get exactly zero
    gradient and do not influence the value.  The cost's backward is fused
    (one matrix product per input on CUDA; on CPU sums over the short runs
    of cells where the DP gradient is nonzero: ``_cpu_cost.py``).
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
  predecessors with the forward's own arithmetic, ``_cell.py``), which keeps
  float32 gradients accurate at small gamma.  A soft-min term below
  ``exp(-17)`` (float32; ``exp(-37)`` float64) of the largest is dropped
  (it cannot change the sum), in the forward and the backward alike.
* Invalid input raises ``ValueError`` naming the argument.

Tolerances against the float64 reference, as asserted in test/ops (errors
relative to the largest magnitude of the compared tensor, gamma in
[0.001, 1], random variable-length batches): float64 kernels 1e-8 for values
and gradients; float32 kernels 2e-5 for values (1e-4 for the divergence,
a difference of three terms), 2e-3 for gradients.  The CUDA kernels are held
to the same tolerances on the simulator.

CPU: the DP runs along anti-diagonals in SIMD (``_cpu.py``); the batch is
split over ``NUMBA_NUM_THREADS`` (default ``torch.get_num_threads()``)
Python threads running the GIL-free kernels; small batches (< 65536 band
cells per thread) stay on one thread (``_threads.py``).  No torch operation
of the CPU path opens an OpenMP region (whose workers would keep spinning
on the cores the kernels use).

Modules: ``_checks`` (argument checks), ``_band`` (row / diagonal bounds of
the band), ``_cell`` (the DP cell every kernel shares), ``_fastmath``
(vectorisable exp / log), ``_cpu`` / ``_cuda`` (DP kernels), ``_function``
(autograd Function, backend dispatch), ``_sqeuclid`` / ``_cpu_cost`` (the
cost and its gradient), ``_reference`` (plain-PyTorch DP), ``_threads``.
"""

from __future__ import annotations

from typing import Optional

import torch

from ._checks import (BACKENDS, check_backend, check_bandwidth, check_gamma, check_lengths,
                      check_tensor, resolve_backend)
from ._function import dp, dp_sq_euclidean

__all__ = ["soft_dtw", "soft_dtw_from_cost", "SoftDTW", "BACKENDS"]


def soft_dtw_from_cost(cost: torch.Tensor,
                       x_lengths: Optional[torch.Tensor] = None,
                       y_lengths: Optional[torch.Tensor] = None,
                       gamma: float = 0.1,
                       bandwidth: Optional[float] = None,
                       backend: str = "auto") -> torch.Tensor:
    """Soft-DTW of a precomputed cost matrix ``cost`` (B, N, M) -> (B,)."""
    gamma = check_gamma(gamma)
    bandwidth = check_bandwidth(bandwidth)
    backend = check_backend(backend)
    check_tensor(cost, "cost", 3)
    B, N, M = cost.shape
    nx = check_lengths(x_lengths, "x_lengths", B, N)
    ny = check_lengths(y_lengths, "y_lengths", B, M)
    backend = resolve_backend(backend, cost.device)
    return dp(cost, nx, ny, gamma, bandwidth, backend)


def soft_dtw(x: torch.Tensor,
             y: torch.Tensor,
             x_lengths: Optional[torch.Tensor] = None,
             y_lengths: Optional[torch.Tensor] = None,
             gamma: float = 0.1,
             bandwidth: Optional[float] = None,
             normalize: bool = False,
             backend: str = "auto") -> torch.Tensor:
    """Soft-DTW between ``x`` (B, N, d) and ``y`` (B, M, d) -> (B,)."""
    gamma = check_gamma(gamma)
    bandwidth = check_bandwidth(bandwidth)
    backend = check_backend(backend)
    check_tensor(x, "x", 3)
    check_tensor(y, "y", 3)
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
    nx = check_lengths(x_lengths, "x_lengths", B, N)
    ny = check_lengths(y_lengths, "y_lengths", B, M)
    backend = resolve_backend(backend, x.device)
    value = dp_sq_euclidean(x, y, nx, ny, gamma, bandwidth, backend)
    if normalize:
        vxx = dp_sq_euclidean(x, x, nx, nx, gamma, bandwidth, backend)
        vyy = dp_sq_euclidean(y, y, ny, ny, gamma, bandwidth, backend)
        value = value - 0.5 * (vxx + vyy)
    return value


class SoftDTW(torch.nn.Module):
    """``nn.Module`` wrapper of :func:`soft_dtw` (arguments validated at construction)."""

    def __init__(self, gamma: float = 0.1, bandwidth: Optional[float] = None,
                 normalize: bool = False, backend: str = "auto"):
        super().__init__()
        self.gamma = check_gamma(gamma)
        self.bandwidth = check_bandwidth(bandwidth)
        self.normalize = bool(normalize)
        self.backend = check_backend(backend)

    def forward(self, x, y, x_lengths=None, y_lengths=None):
        return soft_dtw(x, y, x_lengths, y_lengths, gamma=self.gamma, bandwidth=self.bandwidth,
                        normalize=self.normalize, backend=self.backend)

    def extra_repr(self):
        return (f"gamma={self.gamma}, bandwidth={self.bandwidth}, "
                f"normalize={self.normalize}, backend={self.backend!r}")
