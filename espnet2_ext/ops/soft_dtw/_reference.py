"""Plain-PyTorch soft-DTW (autograd through the DP); the tests' ground truth.

The DP runs along anti-diagonals ``k = i + j``: each step handles a whole
diagonal of every batch item with a few vectorised ops (a logsumexp over the
three predecessors), so it costs N + M - 1 small steps instead of N * M.
Diagonal ``k`` is stored indexed by the row ``i`` (shape (B, N)); the
predecessors of ``(i, k - i)`` are then ``diag[k-1][i-1]`` (up),
``diag[k-1][i]`` (left) and ``diag[k-2][i-1]`` (diagonal).
Cells outside an item's lengths or band are +inf and get no gradient; the
computed cells are exactly those of the kernels (same host-side bounds).
"""

import torch

from ._band import band_mask


def soft_dtw_reference(cost, nx, ny, lo, hi, gamma):
    B, N, M = cost.shape
    dev, dt = cost.device, cost.dtype
    mask = band_mask(lo.to(dev), hi.to(dev), M)  # (B, N, M), false beyond lengths
    rows = torch.arange(N, device=dev)
    inf = torch.tensor(float("inf"), dtype=dt, device=dev)
    inf_col = torch.full((B, 1), float("inf"), dtype=dt, device=dev)
    zero_col = torch.zeros((B, 1), dtype=dt, device=dev)
    prev2 = torch.full((B, N), float("inf"), dtype=dt, device=dev)
    prev1 = torch.full((B, N), float("inf"), dtype=dt, device=dev)
    diags = []
    for k in range(N + M - 1):
        j = k - rows
        in_grid = (j >= 0) & (j < M)
        jc = j.clamp(0, M - 1)
        valid = mask[:, rows, jc] & in_grid.unsqueeze(0)  # (B, N)
        dk = cost[:, rows, jc]  # (B, N)
        up = torch.cat([inf_col, prev1[:, :-1]], dim=1)
        left = prev1
        corner = zero_col if k == 0 else inf_col
        dg = torch.cat([corner, prev2[:, :-1]], dim=1)
        preds = torch.stack([up, left, dg], dim=-1)  # (B, N, 3)
        z = torch.where(valid.unsqueeze(-1), -preds / gamma, torch.zeros_like(preds))
        softmin = -gamma * torch.logsumexp(z, dim=-1)
        rk = torch.where(valid, dk + softmin, inf)
        diags.append(rk)
        prev2, prev1 = prev1, rk
    R = torch.stack(diags, dim=1)  # (B, N+M-1, N)
    nx_d = nx.to(dev)
    ny_d = ny.to(dev)
    b = torch.arange(B, device=dev)
    return R[b, nx_d + ny_d - 2, nx_d - 1]
