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
    """
    n = x_lengths.to(torch.int64).view(-1, 1)
    m = y_lengths.to(torch.int64).view(-1, 1)
    i = torch.arange(n_rows, dtype=torch.int64).view(1, -1)
    lo = torch.zeros(n.shape[0], n_rows, dtype=torch.int64)
    hi = (m - 1).expand(-1, n_rows).clone()
    if bandwidth is not None:
        n1 = (n - 1).to(torch.float64)
        m1 = (m - 1).to(torch.float64)
        w = max(float(bandwidth), 0.5)
        rad = w * torch.maximum(n1, m1)  # float64, the exact threshold
        fi = i.to(torch.float64)

        def inside(jj):
            return (fi * m1 - jj.to(torch.float64) * n1).abs() <= rad

        safe_n1 = torch.where(n1 > 0, n1, torch.ones_like(n1))
        lo_f = torch.ceil((fi * m1 - rad) / safe_n1)
        hi_f = torch.floor((fi * m1 + rad) / safe_n1)
        big = float(2 ** 40)
        lo_c = lo_f.clamp(-big, big).to(torch.int64)
        hi_c = hi_f.clamp(-big, big).to(torch.int64)
        # one-step exact correction of float rounding in the division
        lo_c = torch.where(inside(lo_c - 1), lo_c - 1, lo_c)
        lo_c = torch.where(inside(lo_c), lo_c, lo_c + 1)
        hi_c = torch.where(inside(hi_c + 1), hi_c + 1, hi_c)
        hi_c = torch.where(inside(hi_c), hi_c, hi_c - 1)
        lo_c = torch.maximum(lo_c, torch.zeros_like(lo_c))
        hi_c = torch.minimum(hi_c, (m - 1).expand_as(hi_c))
        single_row = (n == 1).expand_as(lo_c)  # n == 1: the only row spans all columns
        lo = torch.where(single_row, lo, lo_c)
        hi = torch.where(single_row, hi, hi_c)
    valid = i < n
    lo = torch.where(valid, lo, torch.zeros_like(lo))
    hi = torch.where(valid, hi, torch.full_like(hi, -1))
    return lo.contiguous(), hi.contiguous()


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
    i = np.arange(N, dtype=np.int64)
    lo_n = lo.detach().cpu().numpy()
    hi_n = hi.detach().cpu().numpy()
    big = np.iinfo(np.int64).max // 4
    k = np.arange(first, first + n_diags, dtype=np.int64)
    dlo = np.empty((B, n_diags), dtype=np.int64)
    dhi = np.empty((B, n_diags), dtype=np.int64)
    # NumPy, one item at a time: torch's searchsorted would start an OpenMP
    # region, which on a loaded machine can wait a whole scheduler slice
    for b in range(B):
        valid = hi_n[b] >= lo_n[b]
        dlo[b] = np.searchsorted(np.where(valid, i + hi_n[b], big), k, side="left")
        dhi[b] = np.searchsorted(np.where(valid, i + lo_n[b], big), k, side="right") - 1
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
    slots = (dhi[:, :K + 1] - dlo[:, :K + 1] + 1).clamp_min(0) + 2
    ends = torch.cumsum(slots.reshape(-1), 0)
    base = (ends - slots.reshape(-1)).view(B, K + 1)
    return dlo, dhi, base.contiguous(), int(ends[-1])
