"""Numba CPU kernels of the squared Euclidean cost: the squared norms its
forward needs, and its gradient restricted to where the DP gradient ``G`` is
nonzero.

With the soft-min's exact zeros (``_cell.py``), ``G = dL/dD`` of a row is
nonzero only on a short run of columns around the alignment (about 20 of 300
columns for unit-norm random frames at gamma 0.1), so the two dense matrix
products of the cost's backward mostly multiply zeros.  Per item, row ``i``:

    gx[i] = 2 (x[i] * sum_j G[i, j] - sum_j G[i, j] y[j])
    gy[j] = 2 (y[j] * sum_i G[i, j] - sum_i G[i, j] x[i])

with the sums taken over ``j in [first[i], last[i]]`` only (the first and
last nonzero column of the row); the inner loops run over the feature
dimension and are vectorised; rows go in blocks of four.  A row without
nonzeros (a padded frame) gets exactly zero.
"""

import numpy as np
from numba import njit

_FLAGS = dict(nogil=True, error_model="numpy", fastmath={"contract"}, cache=True)


# the norms' sums may be reassociated (vectorised); nothing else here is
@njit(**dict(_FLAGS, fastmath={"contract", "reassoc"}))
def sq_norms(x, reverse, items, out):
    """out[b, i] = |x[b, i]|^2 (stored at N - 1 - i when ``reverse``), for b in ``items``."""
    N = x.shape[1]
    d = x.shape[2]
    for t in range(items.shape[0]):
        b = items[t]
        for i in range(N):
            s = x[b, i, 0] * x[b, i, 0]
            for c in range(1, d):
                s += x[b, i, c] * x[b, i, c]
            out[b, N - 1 - i if reverse else i] = s


@njit(**_FLAGS)
def nonzero_spans(G, items, first, last):
    """first[b, i] / last[b, i]: first / last column of a nonzero in row i of
    G[b] (M and -1 for a row of zeros), for b in ``items``."""
    N = G.shape[1]
    M = G.shape[2]
    for t in range(items.shape[0]):
        b = items[t]
        for i in range(N):
            row = G[b, i]
            f = M
            la = -1
            for j in range(M):
                nz = row[j] != 0
                f = min(f, j if nz else M)
                la = max(la, j if nz else -1)
            first[b, i] = f
            last[b, i] = la


@njit(**_FLAGS)
def span_grad(x, y, G, first, last, want_x, want_y, items, gx, gy):
    """gx (B, N, d) and / or gy (B, M, d) of the cost for b in ``items``; gy is
    used as the accumulator of sum_i G[i, j] x[i] (its old contents are ignored).

    Rows go in blocks of four over the union of their runs: each y[j] and
    gy[j] (the large, L2-resident operands) is then read once per four rows;
    the four accumulators and x rows stay in L1."""
    N = x.shape[1]
    d = x.shape[2]
    M = y.shape[1]
    a0 = np.zeros(d, dtype=x.dtype)
    a1 = np.zeros(d, dtype=x.dtype)
    a2 = np.zeros(d, dtype=x.dtype)
    a3 = np.zeros(d, dtype=x.dtype)
    colsum = np.zeros(M, dtype=x.dtype)
    zero = a0[0]
    two = np.full(1, 2.0, dtype=x.dtype)[0]  # a literal 2 would promote float32 to float64
    for t in range(items.shape[0]):
        b = items[t]
        if want_y:
            gy[b] = zero
            colsum[:] = zero
        for i0 in range(0, N, 4):
            # rows past the end repeat the last one with weight 0
            i1 = min(i0 + 1, N - 1)
            i2 = min(i0 + 2, N - 1)
            i3 = min(i0 + 3, N - 1)
            f = min(min(first[b, i0], first[b, i1]), min(first[b, i2], first[b, i3]))
            la = max(max(last[b, i0], last[b, i1]), max(last[b, i2], last[b, i3]))
            a0[:] = zero
            a1[:] = zero
            a2[:] = zero
            a3[:] = zero
            r0 = r1 = r2 = r3 = zero
            # plain 3-D indexing in the loops over the feature dimension (a row
            # view per cell would cost a reference count update each)
            for j in range(f, la + 1):
                g0 = G[b, i0, j]
                g1 = G[b, i1, j] if i0 + 1 < N else zero
                g2 = G[b, i2, j] if i0 + 2 < N else zero
                g3 = G[b, i3, j] if i0 + 3 < N else zero
                r0 += g0
                r1 += g1
                r2 += g2
                r3 += g3
                for c in range(d):
                    yv = y[b, j, c]
                    a0[c] += g0 * yv
                    a1[c] += g1 * yv
                    a2[c] += g2 * yv
                    a3[c] += g3 * yv
                if want_y:
                    colsum[j] += (g0 + g1) + (g2 + g3)
                    for c in range(d):
                        gy[b, j, c] += (g0 * x[b, i0, c] + g1 * x[b, i1, c]) + (g2 * x[b, i2, c] + g3 * x[b, i3, c])
            if want_x:
                for c in range(d):
                    gx[b, i0, c] = two * (x[b, i0, c] * r0 - a0[c])
                if i0 + 1 < N:
                    for c in range(d):
                        gx[b, i1, c] = two * (x[b, i1, c] * r1 - a1[c])
                if i0 + 2 < N:
                    for c in range(d):
                        gx[b, i2, c] = two * (x[b, i2, c] * r2 - a2[c])
                if i0 + 3 < N:
                    for c in range(d):
                        gx[b, i3, c] = two * (x[b, i3, c] * r3 - a3[c])
        if want_y:
            for j in range(M):
                for c in range(d):
                    gy[b, j, c] = two * (y[b, j, c] * colsum[j] - gy[b, j, c])
