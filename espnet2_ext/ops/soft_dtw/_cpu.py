"""Numba CPU kernels of the soft-DTW DP (``njit(nogil=True)``), SIMD along anti-diagonals.

Each batch item is swept anti-diagonal by anti-diagonal (``k = i + j``): the
cells of one diagonal are independent, so the loop over them is a plain
vector loop (the cell's ``exp`` / ``log`` are the polynomial ones of
``_fastmath.py``, which LLVM vectorises; libm's are scalar calls).  Along a
row, by contrast, every cell waits for its left neighbour's ``exp`` and
``log``: that dependency chain is what bounded the earlier row-by-row kernel.

Layout: ``R`` is stored packed by diagonal with one sentinel slot on each
side of every diagonal (see ``_band.packed_diagonals``): a predecessor
outside the band reads a sentinel (+inf in ``R``, 0 in the backward's
messages), so the vector loop has no bounds tests at all.  The forward
first writes each band cell's cost into its own slot of ``R`` (from a
row-major cost matrix, or computed from ``x`` and ``y``, ``_cpu_cost.py``),
then the DP replaces it by ``R`` in place: every read of the DP is
contiguous.  The backward writes ``dL/dD`` into a scratch vector of the
same layout (one item at a time, so it stays in the cache) together with
each row's first and last nonzero column, from which the cost gradient is
taken (``_cpu_cost.span_grad_item``) or the row-major ``dL/dcost`` filled.

Forward: ``R[i, j] = D[i, j] + softmin_gamma(R[i-1, j], R[i, j-1], R[i-1, j-1])``,
``R[-1, -1] = 0``, every other cell outside the grid or band +inf.

Backward ("pull" with messages, last diagonal first): a cell's ``E = dL/dR
= dL/dD`` is the sum of the messages its three successors left for it; it
then recomputes its own forward soft-min probabilities ``p`` from the stored
predecessors (the same cell function as the forward, ``_cell.py``) and
leaves ``E * p`` for each predecessor in a 3-diagonal ring of messages.
Only the rows next to the previous diagonals' nonzero ``E`` are visited:
the soft-min's exact zeros confine ``E`` to the alignment's neighbourhood.

Indexing: every vector loop runs ``i`` from 0 over offsets clamped at 0, so
the compiler can drop Numba's negative-index wraparound test (which would
turn each load into a gather).

Threads: each kernel takes the list of batch items it handles and releases
the GIL; ``_threads.py`` splits the batch and runs the lists in parallel.

The kernels are dtype-generic and only ever called with float32 or float64
arrays, so there are two specialisations each, cached on disk.  Numba keys
that cache on this file alone, not on the files whose code it compiles in
(``_cell.py``, ``_fastmath.py``, ``_cpu_cost.py``): this file records their
hash (``_INLINED_SHA1``), and caching is off while they do not match it.
"""

import os

import numpy as np
from numba import njit

from ._cell import make_cell
from ._cpu_cost import grad_scratch, span_grad_item, sq_cost_fill, sq_norms_item
from ._fastmath import exp_neg, log_1to3


# SHA-1 of the sources compiled into this file's kernels (_INLINED, in order).
# Numba keys its on-disk cache on this file alone, so an edit there must come
# with a new value here (test_soft_dtw_kernels checks it): that edit of this
# file is what invalidates the cache.  Until then the kernels are not cached.
_INLINED = ("_cell.py", "_fastmath.py", "_cpu_cost.py")
_INLINED_SHA1 = "f610adbc8100ebfb7b99647f165e2eb08d53317d"


def inlined_sources_sha1():
    import hashlib

    here = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha1()
    for name in _INLINED:
        with open(os.path.join(here, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def _cache_is_safe():
    try:
        return inlined_sources_sha1() == _INLINED_SHA1
    except OSError:
        return False


_CACHE = _cache_is_safe()
_FLAGS = dict(nogil=True, error_model="numpy", fastmath={"contract"}, cache=_CACHE)

softmin_terms = make_cell(njit(inline="always", error_model="numpy", fastmath={"contract"}), exp_neg)


# ----------------------------------------------------------------------------
# one item: the DP forward and backward on the packed layout


@njit(**_FLAGS)
def _diag_offsets(b, n, m, dlo, base, shift, off):
    """off[k] = slot of row 0 of diagonal k (possibly outside it) minus ``shift``,
    so that cell (i, j) lies at ``off[i + j] + i``."""
    for k in range(n + m - 1):
        off[k] = base[b, k + 1] + 1 - dlo[b, k + 1] - shift


@njit(**_FLAGS)
def _dp_forward(R, b, n, m, dlo, dhi, base, gamma, inf, cut):
    """Item b: the band cells' slots of R hold the cost D on entry and R on
    return (sentinels set here).  Returns R[n-1, m-1]."""
    zero = gamma - gamma
    inv = (gamma / gamma) / gamma
    pm = base[b, 0]  # the virtual diagonal k = -1: two sentinels
    R[pm] = inf
    R[pm + 1] = inf
    for k in range(n + m - 1):
        a = dlo[b, k + 1]
        z = dhi[b, k + 1]
        pk = base[b, k + 1]
        R[pk] = inf
        R[pk + z - a + 2] = inf
        if k == 0:  # cell (0, 0): R[-1, -1] = 0 is its only predecessor
            mn, eu, el, ed = softmin_terms(inf, inf, zero, inv, cut)
            R[pk + 1] = R[pk + 1] + (mn - gamma * log_1to3(eu + el + ed))
            continue
        # offsets of row a, clamped at 0 so that the compiler knows the indices
        # below are not negative (no wraparound test: plain SIMD loads)
        c = z - a + 1
        o1 = max(base[b, k] + a - dlo[b, k], 0)  # row r-1 of diagonal k-1 ("up"), then r ("left")
        o2 = max(base[b, k - 1] + a - dlo[b, k - 1], 0)  # row r-1 of diagonal k-2
        ow = max(pk + 1, 0)
        for i in range(c):
            mn, eu, el, ed = softmin_terms(R[o1 + i], R[o1 + i + 1], R[o2 + i], inv, cut)
            R[ow + i] = R[ow + i] + (mn - gamma * log_1to3(eu + el + ed))
    return R[base[b, n + m - 1] + 1]  # the last diagonal holds (n-1, m-1) alone


@njit(**_FLAGS)
def _dp_backward(R, b, n, m, M, dlo, dhi, base, gamma, inf, cut, seed_end, shift, S, mu, ml, md, fb, lb):
    """Item b: S[p - shift] = dL/dD of the band cell at R's slot p (0 at every
    other slot of the item), given dL/dR[n-1, m-1] = ``seed_end``;
    fb[i] / lb[i] = first / last column of a nonzero in row i (M / -1 if none).
    mu, ml, md (3, N + 2) are the message rings (scratch); M the columns of the grid.

    Only the rows that can receive a nonzero message are visited: with
    ``[f1, l1]`` / ``[f2, l2]`` the rows of nonzero E on diagonals k+1 / k+2,
    a cell of diagonal k has a nonzero successor only in rows
    ``[f1 - 1, l1] | [f2 - 1, l2 - 1]``.  The soft-min's exact zeros keep that
    range to the alignment's neighbourhood (about 20 of 300 rows for unit-norm
    frames at gamma 0.1)."""
    zero = gamma - gamma
    inv = (gamma / gamma) / gamma
    N = fb.shape[0]
    none = N + M  # "no row" for the ranges below
    S[:base[b, n + m - 1] + 3 - shift] = zero
    fb[:] = M
    lb[:] = -1
    mu[:] = zero
    ml[:] = zero
    md[:] = zero
    f1, l1 = n - 1, n - 1  # so that the last diagonal visits the end cell (seeded below)
    f2, l2 = none, -none
    for k in range(n + m - 2, -1, -1):
        a = dlo[b, k + 1]
        z = dhi[b, k + 1]
        s0 = k % 3
        s1 = (k + 1) % 3
        s2 = (k + 2) % 3
        # the last diagonal holds the end cell alone: dL/dR there is seed_end
        seed = seed_end if k == n + m - 2 else zero
        if k == 0:
            e = mu[s1, 2 - dlo[b, 2]] + ml[s1, 1 - dlo[b, 2]] + md[s2, 2 - dlo[b, 3]] + seed
            S[base[b, 1] + 1 - shift] = e
            if e != zero:
                fb[0] = 0
                lb[0] = max(lb[0], 0)
            break
        r0 = max(a, min(f1, f2) - 1)
        r1 = min(z, max(l1, l2 - 1))
        c = max(r1 - r0 + 1, 0)
        # this diagonal's message slots (positions 0 .. z - a + 2): rows r0..r1
        # are written below; diagonals k-1 and k-2 read at most one row beyond
        # each end or a sentinel, so those four positions are zeroed (all of
        # them when no row is visited), and stale slots are never read
        # (the same increments argument as for R's sentinels)
        if c == 0:
            mu[s0, :z - a + 3] = zero
            ml[s0, :z - a + 3] = zero
            md[s0, :z - a + 3] = zero
        else:
            for p in (0, r0 - a, r1 - a + 2, z - a + 2):
                mu[s0, p] = zero
                ml[s0, p] = zero
                md[s0, p] = zero
        # offsets of row r0 (clamped at 0 so that the compiler knows the
        # indices below are not negative: no wraparound test, plain SIMD loads)
        pu = max(2 + r0 - dlo[b, k + 2], 0)  # successor (r+1, j), we are its "up": row r+1 of diagonal k+1
        pl = max(pu - 1, 0)  # successor (r, j+1): row r of diagonal k+1
        pd = max(2 + r0 - dlo[b, k + 3], 0)  # successor (r+1, j+1): row r+1 of diagonal k+2
        pw = max(1 + r0 - a, 0)
        o1 = max(base[b, k] + r0 - dlo[b, k], 0)  # R: row r-1 of diagonal k-1 ("up"), then r ("left")
        o2 = max(base[b, k - 1] + r0 - dlo[b, k - 1], 0)  # row r-1 of diagonal k-2
        oe = max(base[b, k + 1] + 1 + r0 - a - shift, 0)  # S: row r0 of diagonal k
        orow = max(r0, 0)
        mu0, ml0, md0 = mu[s0], ml[s0], md[s0]
        mu1, ml1, md2 = mu[s1], ml[s1], md[s2]
        nf, nl = none, -none
        for i in range(c):
            e = mu1[pu + i] + ml1[pl + i] + md2[pd + i] + seed
            mn, eu, el, ed = softmin_terms(R[o1 + i], R[o1 + i + 1], R[o2 + i], inv, cut)
            w = e / (eu + el + ed)
            mu0[pw + i] = w * eu
            ml0[pw + i] = w * el
            md0[pw + i] = w * ed
            S[oe + i] = e
            nonzero = e != zero
            nf = min(nf, i if nonzero else none)
            nl = max(nl, i if nonzero else -none)
            # row r0 + i, column k - r0 - i: the diagonals come in decreasing
            # order, so a row's columns do too
            j = k - r0 - i
            fb[orow + i] = min(fb[orow + i], j if nonzero else M)
            lb[orow + i] = max(lb[orow + i], j if nonzero else -1)
        f2, l2 = f1, l1
        f1, l1 = r0 + nf, r0 + nl


# ----------------------------------------------------------------------------
# kernels: a list of items each


@njit(**_FLAGS)
def _backward_scratch(R, N, M):
    """The scratch of ``_dp_backward`` (mu, ml, md: (3, N + 2) in R's dtype)
    and of ``_diag_offsets`` (off: (N + M,) int64)."""
    mu = np.zeros((3, N + 2), dtype=R.dtype)
    ml = np.zeros((3, N + 2), dtype=R.dtype)
    md = np.zeros((3, N + 2), dtype=R.dtype)
    return mu, ml, md, np.empty(N + M, dtype=np.int64)


@njit(**_FLAGS)
def _item_backward(R, b, nx, ny, M, dlo, dhi, base, gamma, inf, cut, gout, S, mu, ml, md, first, last, off):
    """Item b: dL/dD into the scratch S (``_dp_backward``) and ``off`` such
    that cell (i, j)'s value is S[off[i + j] + i].  Returns the item's length n."""
    n = nx[b]
    m = ny[b]
    shift = base[b, 0]
    _dp_backward(R, b, n, m, M, dlo, dhi, base, gamma, inf, cut, gout[b], shift, S, mu, ml, md,
                 first[b], last[b])
    _diag_offsets(b, n, m, dlo, base, shift, off)
    return n


@njit(**_FLAGS)
def sdtw_forward(D, lo, hi, nx, ny, dlo, dhi, base, gamma, inf, cut, items, R, out):
    """For b in ``items``: out[b] = R[b, nx-1, ny-1] of the cost ``D`` (B, N, M),
    R (flat, packed diagonals, ``_band.packed_diagonals``) inside the band."""
    for t in range(items.shape[0]):
        b = items[t]
        n = nx[b]
        m = ny[b]
        for i in range(n):
            for j in range(lo[b, i], hi[b, i] + 1):
                R[base[b, i + j + 1] + 1 + i - dlo[b, i + j + 1]] = D[b, i, j]
        out[b] = _dp_forward(R, b, n, m, dlo, dhi, base, gamma, inf, cut)


@njit(**_FLAGS)
def sdtw_forward_sq(x, y, lo, hi, nx, ny, dlo, dhi, base, gamma, inf, cut, items, R, out):
    """The same for the squared Euclidean cost of x (B, N, d) and y (B, M, d),
    computed item by item into R's slots (``_cpu_cost.sq_cost_fill``)."""
    N = x.shape[1]
    M = y.shape[1]
    xx = np.empty(N, dtype=x.dtype)
    yy = np.empty(M, dtype=x.dtype)
    off = np.empty(N + M, dtype=np.int64)
    for t in range(items.shape[0]):
        b = items[t]
        n = nx[b]
        m = ny[b]
        sq_norms_item(x, b, n, xx)
        sq_norms_item(y, b, m, yy)
        _diag_offsets(b, n, m, dlo, base, 0, off)
        sq_cost_fill(x, y, b, n, m, lo, hi, xx, yy, off, R)
        out[b] = _dp_forward(R, b, n, m, dlo, dhi, base, gamma, inf, cut)


@njit(**_FLAGS)
def sdtw_backward(R, nx, ny, dlo, dhi, base, gamma, inf, cut, gout, items, S, first, last, E):
    """For b in ``items``: E[b] (B, N, M) = dL/dD[b] (zero outside the band),
    the items' dL/dD going through the scratch S (packed, one item long) and
    the row runs ``first`` / ``last`` (B, N)."""
    M = E.shape[2]
    mu, ml, md, off = _backward_scratch(R, E.shape[1], M)
    zero = np.zeros(1, dtype=E.dtype)[0]
    for t in range(items.shape[0]):
        b = items[t]
        n = _item_backward(R, b, nx, ny, M, dlo, dhi, base, gamma, inf, cut, gout, S, mu, ml, md,
                           first, last, off)
        E[b] = zero
        for i in range(n):
            for j in range(first[b, i], last[b, i] + 1):
                E[b, i, j] = S[off[i + j] + i]


@njit(**_FLAGS)
def sdtw_backward_sq(R, x, y, nx, ny, dlo, dhi, base, gamma, inf, cut, gout, want_x, want_y, items, S,
                     first, last, gx, gy):
    """For b in ``items``: gx[b] (N, d) and / or gy[b] (M, d), the gradients of
    the squared Euclidean cost's soft-DTW, from dL/dD in the scratch S (packed,
    one item long) and its row runs ``first`` / ``last`` (B, N)
    (``_cpu_cost.span_grad_item``)."""
    M = y.shape[1]
    mu, ml, md, off = _backward_scratch(R, x.shape[1], M)
    acc, gb, colsum = grad_scratch(x, M, x.shape[2])
    for t in range(items.shape[0]):
        b = items[t]
        _item_backward(R, b, nx, ny, M, dlo, dhi, base, gamma, inf, cut, gout, S, mu, ml, md,
                       first, last, off)
        span_grad_item(x, y, S, off, 1, first, last, b, want_x, want_y, acc, gb, colsum, gx, gy)
