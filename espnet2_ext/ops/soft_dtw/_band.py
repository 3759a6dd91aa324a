"""Host-side helpers shared by every backend: per-item row / diagonal bounds.

The band (Sakoe-Chiba, scaled for unequal lengths) for one item with valid
lengths ``n`` (rows, frames of ``x``) and ``m`` (columns, frames of ``y``):
0-based cell ``(i, j)`` is inside iff

    |i * (m - 1) - j * (n - 1)|  <=  w * max(n - 1, m - 1),   w = max(bandwidth, 0.5)

i.e. the cell lies within ``w`` frames of the straight line from ``(0, 0)`` to
``(n - 1, m - 1)``, the distance being measured along the axis of the
*shorter* sequence (for ``n == m`` this is the classic ``|i - j| <= w``).
``w >= 0.5`` guarantees that every row and every column holds at least one
cell, that consecutive rows overlap or touch diagonally, and therefore that
``(n - 1, m - 1)`` is always reachable from ``(0, 0)``.  ``bandwidth=None``
means no band.  Rows and columns beyond an item's lengths are never computed.

Every backend consumes the same integer row bounds ``lo[b, i] .. hi[b, i]``
(inclusive; empty rows have ``lo = 0, hi = -1``), so all of them evaluate
exactly the same set of cells.
"""

from __future__ import annotations

import numpy as np
import torch


def row_bounds(x_lengths: torch.Tensor, y_lengths: torch.Tensor, n_rows: int,
               bandwidth: float | None):
    """Inclusive column range of every row, ``(lo, hi)`` int64 of shape (B, n_rows).

    ``x_lengths`` / ``y_lengths`` are int64 CPU tensors of shape (B,).
    Computed with NumPy: torch would open an OpenMP region for a large batch
    (see ``_checks.check_tensor``).
    """
    n = x_lengths.numpy().astype(np.int64).reshape(-1, 1)
    m = y_lengths.numpy().astype(np.int64).reshape(-1, 1)
    i = np.arange(n_rows, dtype=np.int64).reshape(1, -1)
    lo = np.zeros((n.shape[0], n_rows), dtype=np.int64)
    hi = np.broadcast_to(m - 1, lo.shape)
    if bandwidth is not None:
        n1 = (n - 1).astype(np.float64)
        m1 = (m - 1).astype(np.float64)
        w = max(float(bandwidth), 0.5)
        rad = w * np.maximum(n1, m1)  # float64, the exact threshold
        fi = i.astype(np.float64)

        def inside(jj):
            return np.abs(fi * m1 - jj.astype(np.float64) * n1) <= rad

        safe_n1 = np.where(n1 > 0, n1, 1.0)
        lo_f = np.ceil((fi * m1 - rad) / safe_n1)
        hi_f = np.floor((fi * m1 + rad) / safe_n1)
        big = float(2 ** 40)
        lo_c = np.clip(lo_f, -big, big).astype(np.int64)
        hi_c = np.clip(hi_f, -big, big).astype(np.int64)
        # one-step exact correction of float rounding in the division
        lo_c = np.where(inside(lo_c - 1), lo_c - 1, lo_c)
        lo_c = np.where(inside(lo_c), lo_c, lo_c + 1)
        hi_c = np.where(inside(hi_c + 1), hi_c + 1, hi_c)
        hi_c = np.where(inside(hi_c), hi_c, hi_c - 1)
        lo_c = np.maximum(lo_c, 0)
        hi_c = np.minimum(hi_c, m - 1)
        single_row = n == 1  # n == 1: the only row spans all columns
        lo = np.where(single_row, lo, lo_c)
        hi = np.where(single_row, hi, hi_c)
    valid = i < n
    lo = np.where(valid, lo, 0)
    hi = np.where(valid, hi, -1)
    return torch.from_numpy(np.ascontiguousarray(lo)), torch.from_numpy(np.ascontiguousarray(hi))


def band_mask(lo: torch.Tensor, hi: torch.Tensor, n_cols: int) -> torch.Tensor:
    """Boolean (B, N, M) mask of the computed cells."""
    j = torch.arange(n_cols, dtype=torch.int64, device=lo.device).view(1, 1, -1)
    return (j >= lo.unsqueeze(-1)) & (j <= hi.unsqueeze(-1))


def diag_bounds(lo: torch.Tensor, hi: torch.Tensor, n_diags: int, first: int = 0):
    """Row range ``[dlo, dhi]`` of the computed cells on each anti-diagonal ``k = i + j``,
    for ``k = first, ..., first + n_diags - 1``.

    Because ``i + lo[i]`` and ``i + hi[i]`` are strictly increasing over the
    valid rows, the band cells of a diagonal are one contiguous run of rows,
    and from one diagonal to the next ``dlo`` and ``dhi`` each grow by 0 or 1.
    Empty diagonals (before the first, after an item's last, or skipped by a
    narrow band) get ``dlo = dhi + 1``.  int64 tensors of shape (B, n_diags).
    """
    B, N = lo.shape
    lo_n = lo.detach().cpu().numpy()
    hi_n = hi.detach().cpu().numpy()
    i = np.arange(N, dtype=np.int64)
    k = np.arange(first, first + n_diags, dtype=np.int64)
    valid = hi_n >= lo_n
    # one search for the whole batch (NumPy: torch's searchsorted would start an
    # OpenMP region): item b's keys are shifted by b * span, invalid rows sit
    # at the top of their item's range, so the concatenation stays sorted
    top = max(int(k[-1]) if n_diags else 0, N + int(hi_n.max(initial=0))) + 1
    span = top + 1 - min(first, 0)
    shift = (np.arange(B, dtype=np.int64) * span).reshape(-1, 1)
    ends = (np.where(valid, i + hi_n, top) + shift).reshape(-1)
    starts = (np.where(valid, i + lo_n, top) + shift).reshape(-1)
    q = (k.reshape(1, -1) + shift).reshape(-1)
    rows = (np.arange(B, dtype=np.int64) * N).reshape(-1, 1)
    dlo = np.searchsorted(ends, q, side="left").reshape(B, -1) - rows
    dhi = np.searchsorted(starts, q, side="right").reshape(B, -1) - 1 - rows
    return torch.from_numpy(dlo), torch.from_numpy(dhi)


def packed_diagonals(lo: torch.Tensor, hi: torch.Tensor, n_cols: int):
    """Layout of the CPU kernels' packed, sentinel-framed anti-diagonals.

    Diagonal ``k`` (``-1 <= k <= N + M - 2``; ``k = -1`` is a virtual, empty
    one) of item ``b`` holds its ``c = dhi - dlo + 1`` band cells, row ``i``
    at flat position ``base[b, k + 1] + 1 + i - dlo[b, k + 1]``, framed by one
    sentinel slot on each side (``c + 2`` slots).  Since ``dlo`` and ``dhi``
    grow by 0 or 1 per diagonal, every predecessor or successor of a band cell
    that lies outside the band falls on such a sentinel.

    Returns ``dlo``, ``dhi`` of shape (B, N + M + 2) for ``k = -1 ... N + M``
    (index ``k + 1``), ``base`` of shape (B, N + M) (int64) and the total
    number of slots.
    """
    B, N = lo.shape
    K = N + n_cols - 1
    dlo, dhi = diag_bounds(lo, hi, K + 3, first=-1)
    slots = np.maximum(dhi.numpy()[:, :K + 1] - dlo.numpy()[:, :K + 1] + 1, 0) + 2
    ends = np.cumsum(slots.reshape(-1))
    base = (ends - slots.reshape(-1)).reshape(B, K + 1)
    return dlo, dhi, torch.from_numpy(base), int(ends[-1])
