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
messages), so the vector loop has no bounds tests at all.  The cost
(B, N, M) and the gradient ``E`` (B, N, M) keep the row-major layout of
their callers and are read / written with stride ``M - 1`` along a
diagonal.  The forward reads the squared Euclidean cost from its matrix
product ``x y^T`` and the squared norms, so the cost is never materialised.

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
that cache on this file alone, not on the files whose code it inlines
(``_cell.py``, ``_fastmath.py``): this file records their hash
(``_INLINED_SHA1``), and caching is off while they do not match it.
"""

import os

import numpy as np
from numba import njit

from ._cell import make_cell
from ._fastmath import exp_neg, log_1to3, prefetch


# SHA-1 of the sources this file's kernels inline (_cell.py, then _fastmath.py).
# Numba keys its on-disk cache on this file alone, so an edit there must come
# with a new value here (test_soft_dtw_kernels checks it): that edit of this
# file is what invalidates the cache.  Until then the kernels are not cached.
_INLINED_SHA1 = "862b2e38a7bc4f1d1eaff46bb84564eef8252ee3"


def inlined_sources_sha1():
    import hashlib

    here = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha1()
    for name in ("_cell.py", "_fastmath.py"):
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


@njit(**_FLAGS)
def sdtw_forward(P, xx, yrev, alpha, floor, nx, ny, dlo, dhi, base, gamma, inf, cut, items, R, out):
    """For b in ``items``: R (flat, packed diagonals) inside the band, out[b] = R[b, nx-1, ny-1].

    The cost is read as ``D[b, i, j] = max(alpha * P[b, i, j] + xx[b, i] +
    yrev[b, M - 1 - j], floor)``, so that the squared Euclidean cost is never
    materialised (P = x y^T, xx = |x|^2, yy = |y|^2 reversed, alpha = -2,
    floor = 0); a precomputed cost passes P = D, zeros, alpha = 1, floor = -inf.
    ``P`` (B, N, M) C-contiguous; ``dlo``/``dhi``/``base`` from
    ``_band.packed_diagonals``."""
    zero = gamma - gamma
    inv = (gamma / gamma) / gamma
    N = P.shape[1]
    M = P.shape[2]
    P = P.reshape(P.size)  # a view
    for t in range(items.shape[0]):
        b = items[t]
        n = nx[b]
        m = ny[b]
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
                d0 = max(alpha * P[b * N * M] + (xx[b, 0] + yrev[b, M - 1]), floor)
                R[pk + 1] = d0 + (mn - gamma * log_1to3(eu + el + ed))
                continue
            # offsets of row a, clamped at 0 so that the compiler knows the indices
            # below are not negative (no wraparound test: plain SIMD loads)
            c = z - a + 1
            o1 = max(base[b, k] + a - dlo[b, k], 0)  # row r-1 of diagonal k-1 ("up"), then r ("left")
            o2 = max(base[b, k - 1] + a - dlo[b, k - 1], 0)  # row r-1 of diagonal k-2
            ow = max(pk + 1, 0)
            step = max(M - 1, 1)  # (M == 1: one cell per diagonal)
            od = max(b * N * M + a * M + k - a, 0)  # P[b, a, k - a], then down-left with stride M - 1
            ox = max(a, 0)
            oy = max(M - 1 - k + a, 0)  # yy[b, k - a - i] = yrev[b, oy + i]
            for i in range(c):
                mn, eu, el, ed = softmin_terms(R[o1 + i], R[o1 + i + 1], R[o2 + i], inv, cut)
                d = max(alpha * P[od + i * step] + (xx[b, ox + i] + yrev[b, oy + i]), floor)
                R[ow + i] = d + (mn - gamma * log_1to3(eu + el + ed))
            # every 16th row (each row once per 16 diagonals) asks for P 16
            # columns ahead, the next 64-byte line its later diagonals read:
            # the strided reads would otherwise wait for the cache line by line
            for i in range((k - a) % 16, c, 16):
                if k - a - i + 16 < M:
                    prefetch(P, od + i * step + 16)
        out[b] = R[base[b, n + m - 1] + 1]  # the last diagonal holds (n-1, m-1) alone


@njit(**_FLAGS)
def sdtw_backward(R, nx, ny, dlo, dhi, base, gamma, inf, cut, gout, items, E):
    """For b in ``items``: E[b] (B, N, M) = dL/dD[b] (zero outside the band).

    Only the rows that can receive a nonzero message are visited: with
    ``[f1, l1]`` / ``[f2, l2]`` the rows of nonzero E on diagonals k+1 / k+2,
    a cell of diagonal k has a nonzero successor only in rows
    ``[f1 - 1, l1] | [f2 - 1, l2 - 1]``.  The soft-min's exact zeros keep that
    range to the alignment's neighbourhood (about 20 of 300 rows for unit-norm
    frames at gamma 0.1); the other cells of E stay 0."""
    zero = gamma - gamma
    inv = (gamma / gamma) / gamma
    N = E.shape[1]
    M = E.shape[2]
    E = E.reshape(E.size)  # a view: E is C-contiguous
    none = N + M  # "no row" for the ranges below
    # messages for the up / left / diagonal predecessor, ring of 3 diagonals,
    # row r of diagonal k at 1 + r - dlo[k], framed by zero sentinels like R's
    mu = np.zeros((3, N + 2), dtype=R.dtype)
    ml = np.zeros((3, N + 2), dtype=R.dtype)
    md = np.zeros((3, N + 2), dtype=R.dtype)
    for t in range(items.shape[0]):
        b = items[t]
        n = nx[b]
        m = ny[b]
        E[b * N * M:(b + 1) * N * M] = zero
        mu[:] = zero
        ml[:] = zero
        md[:] = zero
        step = max(M - 1, 1)
        f1, l1 = n - 1, n - 1  # so that the last diagonal visits the end cell (seeded below)
        f2, l2 = none, -none
        for k in range(n + m - 2, -1, -1):
            a = dlo[b, k + 1]
            z = dhi[b, k + 1]
            s0 = k % 3
            s1 = (k + 1) % 3
            s2 = (k + 2) % 3
            # the last diagonal holds the end cell alone: dL/dR there is gout
            seed = gout[b] if k == n + m - 2 else zero
            if k == 0:
                E[b * N * M] = mu[s1, 2 - dlo[b, 2]] + ml[s1, 1 - dlo[b, 2]] + md[s2, 2 - dlo[b, 3]] + seed
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
            oe = max(b * N * M + r0 * M + k - r0, 0)
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
                E[oe + i * step] = e
                nonzero = e != zero
                nf = min(nf, i if nonzero else none)
                nl = max(nl, i if nonzero else -none)
            f2, l2 = f1, l1
            f1, l1 = r0 + nf, r0 + nl
