"""Numba CPU code of the squared Euclidean cost: the cost itself, written
straight into the DP's packed diagonals, and its gradient restricted to where
the DP gradient ``G`` is nonzero.

Cost (``sq_cost_fill``): ``D[i, j] = max(|x_i|^2 + |y_j|^2 - 2 x_i . y_j, 0)``
for the band cells of one item, the products in blocks of 4 x 4 frames:
sixteen dot products over the feature dimension, which LLVM vectorises into
sixteen SIMD accumulators (each x and y row loaded once per block).  This is
about 1.5x torch's matrix product here (MKL keeps to AVX2 on this AMD
CPU, LLVM uses AVX-512), and it runs in the kernels' own threads, item by item,
right before the item's DP: the products stay in L2, and no OpenMP region of
torch's is opened (its workers kept spinning on the second core after each
matrix product, slowing the short DP kernels that followed).  Each value goes
to its slot of the packed layout (``_band.packed_diagonals``), where the DP
replaces it by ``R`` in place (``_cpu.py``).

Gradient (``span_grad_item``): with the soft-min's exact zeros (``_cell.py``),
``G = dL/dD`` of a row is nonzero only on a short run of columns around the
alignment (about 20 of 300 columns for unit-norm random frames at gamma 0.1),
so the two dense matrix products of the cost's backward mostly multiply
zeros.  Per item, row ``i``:

    gx[i] = 2 (x[i] * sum_j G[i, j] - sum_j G[i, j] y[j])
    gy[j] = 2 (y[j] * sum_i G[i, j] - sum_i G[i, j] x[i])

with the sums taken over ``j in [first[i], last[i]]`` only (the first and
last nonzero column of the row; a row without nonzeros, e.g. a padded
frame, gets exactly zero).  ``G[i, j]`` is read at ``G[off[i + j] + i * s]``:
``s = 1`` and ``off`` from the packed diagonals for the DP's own gradient,
``s = M - 1`` and ``off[k] = b N M + k`` for a row-major (B, N, M) matrix.
The inner loops run over the feature dimension and are vectorised; rows and
columns go in blocks of four.

``_cpu.py`` calls ``sq_cost_fill`` / ``span_grad_item`` from its kernels
(and records this file's hash for Numba's cache, see there);
``span_grad`` / ``nonzero_spans`` are the row-major kernels of
``_sqeuclid.cost_grads``.
"""

import numpy as np
from numba import njit

_FLAGS = dict(nogil=True, error_model="numpy", fastmath={"contract"}, cache=True)
# dot products and norms may be reassociated (vectorised); nothing else here is
_SUMS = dict(_FLAGS, fastmath={"contract", "reassoc"})


@njit(**_SUMS)
def sq_norms_item(x, b, n, out):
    """out[i] = |x[b, i]|^2 for i < n."""
    d = x.shape[2]
    for i in range(n):
        s = x[b, i, 0] * x[b, i, 0]
        for c in range(1, d):
            s += x[b, i, c] * x[b, i, c]
        out[i] = s


@njit(**_SUMS)
def sq_cost_fill(x, y, b, n, m, lo, hi, xx, yy, off, R):
    """R[off[i + j] + i] = max(xx[i] + yy[j] - 2 x[b, i] . y[b, j], 0) for every
    band cell (i < n, lo[b, i] <= j <= hi[b, i]) of item b; xx, yy its squared
    norms.  4 x 4 blocks of frames (a block's rows / columns past the item's
    end repeat its last frame and are not stored), swept column by column over
    strips of up to 16 rows: the strip's x rows stay in L1, and each 64-byte
    line of R (16 consecutive rows of a diagonal) is written within a few
    blocks rather than once per sweep over the whole row (a quarter faster here)."""
    d = x.shape[2]
    zero = np.zeros(1, dtype=R.dtype)[0]
    H = _strip_rows(d)
    for s0 in range(0, n, H):  # strips of H rows, swept by columns
        s1 = min(s0 + H, n) - 1
        whole = (s1 - s0 + 1) % 4 == 0  # no block past the item's last row
        clo, chi = lo[b, s1], hi[b, s0]  # columns inside the band in every row of the strip
        for j0 in range(lo[b, s0], hi[b, s1] + 1, 4):
            j1 = min(j0 + 1, m - 1)
            j2 = min(j0 + 2, m - 1)
            j3 = min(j0 + 3, m - 1)
            inner = whole and clo <= j0 and j0 + 3 <= chi
            for i0 in range(s0, s1 + 1, 4):
                i1 = min(i0 + 1, n - 1)
                i2 = min(i0 + 2, n - 1)
                i3 = min(i0 + 3, n - 1)
                if not inner and (j0 + 3 < lo[b, i0] or j0 > hi[b, i3]):
                    continue  # no cell of the block inside the band
                a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = zero
                a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = zero
                for c in range(d):
                    x0, x1, x2, x3 = x[b, i0, c], x[b, i1, c], x[b, i2, c], x[b, i3, c]
                    y0, y1, y2, y3 = y[b, j0, c], y[b, j1, c], y[b, j2, c], y[b, j3, c]
                    a00 += x0 * y0
                    a01 += x0 * y1
                    a02 += x0 * y2
                    a03 += x0 * y3
                    a10 += x1 * y0
                    a11 += x1 * y1
                    a12 += x1 * y2
                    a13 += x1 * y3
                    a20 += x2 * y0
                    a21 += x2 * y1
                    a22 += x2 * y2
                    a23 += x2 * y3
                    a30 += x3 * y0
                    a31 += x3 * y1
                    a32 += x3 * y2
                    a33 += x3 * y3
                if inner:  # all sixteen cells inside the band and the grid
                    _put4(R, off, i0, j0, xx[i0], yy, a00, a01, a02, a03, zero)
                    _put4(R, off, i0 + 1, j0, xx[i1], yy, a10, a11, a12, a13, zero)
                    _put4(R, off, i0 + 2, j0, xx[i2], yy, a20, a21, a22, a23, zero)
                    _put4(R, off, i0 + 3, j0, xx[i3], yy, a30, a31, a32, a33, zero)
                else:
                    _put_edge(R, off, b, n, i0, j0, lo, hi, xx, yy, a00, a01, a02, a03, a10, a11, a12, a13,
                              a20, a21, a22, a23, a30, a31, a32, a33, zero)


@njit(**_FLAGS)
def _put_edge(R, off, b, n, i0, j0, lo, hi, xx, yy, a00, a01, a02, a03, a10, a11, a12, a13,
              a20, a21, a22, a23, a30, a31, a32, a33, zero):
    """The costs of the cells of a 4 x 4 block that lie inside the band and the grid
    (a separate function: the common, inner blocks keep their registers)."""
    _put_row(R, off, i0, j0, lo[b, i0], hi[b, i0], xx[i0], yy, a00, a01, a02, a03, zero)
    if i0 + 1 < n:
        _put_row(R, off, i0 + 1, j0, lo[b, i0 + 1], hi[b, i0 + 1], xx[i0 + 1], yy, a10, a11, a12, a13, zero)
    if i0 + 2 < n:
        _put_row(R, off, i0 + 2, j0, lo[b, i0 + 2], hi[b, i0 + 2], xx[i0 + 2], yy, a20, a21, a22, a23, zero)
    if i0 + 3 < n:
        _put_row(R, off, i0 + 3, j0, lo[b, i0 + 3], hi[b, i0 + 3], xx[i0 + 3], yy, a30, a31, a32, a33, zero)


@njit(inline="always")
def _strip_rows(d):
    """Rows per strip: as many (in fours, 4..16) as keep the strip's x rows in about 24 KiB."""
    return max(4, min(16, (6144 // max(d, 1)) // 4 * 4))


@njit(inline="always")
def _put4(R, off, i, j0, xxi, yy, p0, p1, p2, p3, zero):
    """The costs of row i, columns j0 .. j0 + 3, from their products."""
    R[off[i + j0] + i] = max(xxi + yy[j0] - (p0 + p0), zero)
    R[off[i + j0 + 1] + i] = max(xxi + yy[j0 + 1] - (p1 + p1), zero)
    R[off[i + j0 + 2] + i] = max(xxi + yy[j0 + 2] - (p2 + p2), zero)
    R[off[i + j0 + 3] + i] = max(xxi + yy[j0 + 3] - (p3 + p3), zero)


@njit(inline="always")
def _put_row(R, off, i, j0, lo, hi, xxi, yy, p0, p1, p2, p3, zero):
    """The costs of row i, columns j0 .. j0 + 3 (those in [lo, hi]) from their products."""
    if lo <= j0 <= hi:
        R[off[i + j0] + i] = max(xxi + yy[j0] - (p0 + p0), zero)
    if lo <= j0 + 1 <= hi:
        R[off[i + j0 + 1] + i] = max(xxi + yy[j0 + 1] - (p1 + p1), zero)
    if lo <= j0 + 2 <= hi:
        R[off[i + j0 + 2] + i] = max(xxi + yy[j0 + 2] - (p2 + p2), zero)
    if lo <= j0 + 3 <= hi:
        R[off[i + j0 + 3] + i] = max(xxi + yy[j0 + 3] - (p3 + p3), zero)


@njit(inline="always")
def _g(G, off, s, i, j, f, la, zero):
    """G[i, j] if j lies in row i's run [f, la], else 0.  Branch-free (the run
    ends would be mispredicted): outside the run G[0] is read and dropped."""
    inrun = np.int64(f <= j) & np.int64(j <= la)
    v = G[(off[i + j] + i * s) * inrun]
    return v if inrun != 0 else zero


@njit(**_FLAGS)
def grad_scratch(x, M, d):
    """The scratch of ``span_grad_item`` in x's dtype: acc (4, d), gb (4, M), colsum (M,)."""
    return np.empty((4, d), dtype=x.dtype), np.empty((4, M), dtype=x.dtype), np.empty(M, dtype=x.dtype)


@njit(**_FLAGS)
def span_grad_item(x, y, G, off, s, first, last, b, want_x, want_y, acc, gb, colsum, gx, gy):
    """gx[b] (N, d) and / or gy[b] (M, d) of the cost from its DP gradient G
    (read as described in the module docstring) and the rows' runs
    ``first[b]`` / ``last[b]``; gy[b] is used as the accumulator of
    sum_i G[i, j] x[i] (its old contents are ignored).  acc (4, d), gb (4, M)
    and colsum (M,) are scratch.

    Rows go in blocks of four over the union of their runs: the block's G
    values are gathered into gb first, then each y[j] and gy[j] (the large,
    L2-resident operands) is read once per four rows while the four
    accumulators and x rows stay in L1."""
    N = x.shape[1]
    d = x.shape[2]
    M = y.shape[1]
    zero = np.zeros(1, dtype=x.dtype)[0]
    two = np.full(1, 2.0, dtype=x.dtype)[0]  # a literal 2 would promote float32 to float64
    if want_y:
        gy[b] = zero
        colsum[:] = zero
    for i0 in range(0, N, 4):
        # rows past the end repeat the last one with an empty run
        i1 = min(i0 + 1, N - 1)
        i2 = min(i0 + 2, N - 1)
        i3 = min(i0 + 3, N - 1)
        f0, e0 = first[b, i0], last[b, i0]
        f1, e1 = (first[b, i1], last[b, i1]) if i0 + 1 < N else (M, -1)
        f2, e2 = (first[b, i2], last[b, i2]) if i0 + 2 < N else (M, -1)
        f3, e3 = (first[b, i3], last[b, i3]) if i0 + 3 < N else (M, -1)
        f = min(min(f0, f1), min(f2, f3))
        L = max(max(max(e0, e1), max(e2, e3)) - f + 1, 0)
        r0 = r1 = r2 = r3 = zero
        for t in range(L):
            j = f + t
            g0 = _g(G, off, s, i0, j, f0, e0, zero)
            g1 = _g(G, off, s, i1, j, f1, e1, zero)
            g2 = _g(G, off, s, i2, j, f2, e2, zero)
            g3 = _g(G, off, s, i3, j, f3, e3, zero)
            gb[0, t] = g0
            gb[1, t] = g1
            gb[2, t] = g2
            gb[3, t] = g3
            r0 += g0
            r1 += g1
            r2 += g2
            r3 += g3
            colsum[j] += (g0 + g1) + (g2 + g3)
        if want_x:
            acc[:] = zero
        # four columns at a time: each accumulator (gx) / gy row is loaded and
        # stored once per sixteen multiply-adds, not once per four; plain 3-D
        # indexing in the loops over the feature dimension (a row view per
        # cell would cost a reference count update each)
        for t in range(0, L - 3, 4):
            j = f + t
            if want_x:
                _gx_cols4(acc, y, b, j, gb, t, d)
            if want_y:
                _gy_cols4(gy, x, b, j, i0, i1, i2, i3, gb, t, d)
        for t in range(L - L % 4, L):
            j = f + t
            if want_x:
                _gx_cols4(acc, y, b, j, gb, t, d, 1)
            if want_y:
                _gy_cols4(gy, x, b, j, i0, i1, i2, i3, gb, t, d, 1)
        if want_x:
            for c in range(d):
                gx[b, i0, c] = two * (x[b, i0, c] * r0 - acc[0, c])
            if i0 + 1 < N:
                for c in range(d):
                    gx[b, i1, c] = two * (x[b, i1, c] * r1 - acc[1, c])
            if i0 + 2 < N:
                for c in range(d):
                    gx[b, i2, c] = two * (x[b, i2, c] * r2 - acc[2, c])
            if i0 + 3 < N:
                for c in range(d):
                    gx[b, i3, c] = two * (x[b, i3, c] * r3 - acc[3, c])
    if want_y:
        for j in range(M):
            for c in range(d):
                gy[b, j, c] = two * (y[b, j, c] * colsum[j] - gy[b, j, c])


@njit(inline="always")
def _gx_cols4(acc, y, b, j, gb, t, d, cols=4):
    """acc[r] += sum over the ``cols`` (4 or 1) columns j.. of gb[r, t..] y[b, j..] (r < 4)."""
    if cols == 4:
        g00, g01, g02, g03 = gb[0, t], gb[0, t + 1], gb[0, t + 2], gb[0, t + 3]
        g10, g11, g12, g13 = gb[1, t], gb[1, t + 1], gb[1, t + 2], gb[1, t + 3]
        g20, g21, g22, g23 = gb[2, t], gb[2, t + 1], gb[2, t + 2], gb[2, t + 3]
        g30, g31, g32, g33 = gb[3, t], gb[3, t + 1], gb[3, t + 2], gb[3, t + 3]
        for c in range(d):
            y0, y1, y2, y3 = y[b, j, c], y[b, j + 1, c], y[b, j + 2, c], y[b, j + 3, c]
            acc[0, c] = acc[0, c] + g00 * y0 + g01 * y1 + g02 * y2 + g03 * y3
            acc[1, c] = acc[1, c] + g10 * y0 + g11 * y1 + g12 * y2 + g13 * y3
            acc[2, c] = acc[2, c] + g20 * y0 + g21 * y1 + g22 * y2 + g23 * y3
            acc[3, c] = acc[3, c] + g30 * y0 + g31 * y1 + g32 * y2 + g33 * y3
    else:
        g0, g1, g2, g3 = gb[0, t], gb[1, t], gb[2, t], gb[3, t]
        for c in range(d):
            yv = y[b, j, c]
            acc[0, c] += g0 * yv
            acc[1, c] += g1 * yv
            acc[2, c] += g2 * yv
            acc[3, c] += g3 * yv


@njit(inline="always")
def _gy_cols4(gy, x, b, j, i0, i1, i2, i3, gb, t, d, cols=4):
    """gy[b, j + u] += sum over the block's rows r of gb[r, t + u] x[b, i_r], u < ``cols`` (4 or 1)."""
    if cols == 4:
        g00, g01, g02, g03 = gb[0, t], gb[0, t + 1], gb[0, t + 2], gb[0, t + 3]
        g10, g11, g12, g13 = gb[1, t], gb[1, t + 1], gb[1, t + 2], gb[1, t + 3]
        g20, g21, g22, g23 = gb[2, t], gb[2, t + 1], gb[2, t + 2], gb[2, t + 3]
        g30, g31, g32, g33 = gb[3, t], gb[3, t + 1], gb[3, t + 2], gb[3, t + 3]
        for c in range(d):
            x0, x1, x2, x3 = x[b, i0, c], x[b, i1, c], x[b, i2, c], x[b, i3, c]
            gy[b, j, c] = gy[b, j, c] + g00 * x0 + g10 * x1 + g20 * x2 + g30 * x3
            gy[b, j + 1, c] = gy[b, j + 1, c] + g01 * x0 + g11 * x1 + g21 * x2 + g31 * x3
            gy[b, j + 2, c] = gy[b, j + 2, c] + g02 * x0 + g12 * x1 + g22 * x2 + g32 * x3
            gy[b, j + 3, c] = gy[b, j + 3, c] + g03 * x0 + g13 * x1 + g23 * x2 + g33 * x3
    else:
        g0, g1, g2, g3 = gb[0, t], gb[1, t], gb[2, t], gb[3, t]
        for c in range(d):
            gy[b, j, c] += (g0 * x[b, i0, c] + g1 * x[b, i1, c]) + (g2 * x[b, i2, c] + g3 * x[b, i3, c])


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
    """gx (B, N, d) and / or gy (B, M, d) of the cost for b in ``items``
    from a row-major G (B, N, M) and its rows' runs (``nonzero_spans``)."""
    N = x.shape[1]
    M = y.shape[1]
    d = x.shape[2]
    Gf = G.reshape(G.size)  # a view: G is C-contiguous
    off = np.empty(N + M, dtype=np.int64)
    acc, gb, colsum = grad_scratch(x, M, d)
    for t in range(items.shape[0]):
        b = items[t]
        for k in range(N + M):
            off[k] = b * N * M + k  # G[b, i, j] = Gf[b N M + (i + j) + i (M - 1)]
        span_grad_item(x, y, Gf, off, max(M - 1, 0), first, last, b, want_x, want_y, acc, gb, colsum, gx, gy)
