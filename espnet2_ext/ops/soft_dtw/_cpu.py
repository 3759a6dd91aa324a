"""Numba CPU kernels (``njit(nogil=True)``), parallel over the batch items.

The batch is split into per-thread item lists (longest items first, greedy)
and each list runs in its own Python thread; the kernels release the GIL.
This was preferred to ``prange``: no spinning OpenMP barrier to fight torch's
own OpenMP threads on a loaded machine, and a much cheaper first compilation.

Both kernels are dtype-generic but only ever called with float32 or float64
arrays (plus int64 bounds), so there are exactly two specialisations per
kernel, cached on disk (``cache=True``).  All floating scalars passed in
(``gamma``, ``inf``, ``cut``) carry the array dtype, so float32 inputs are computed in
float32 throughout.

Forward: R[i, j] = D[i, j] + softmin_gamma(R[i-1, j-1], R[i-1, j], R[i, j-1])
with R[-1, -1] = 0 and every other out-of-grid / out-of-band cell = +inf.

Backward ("push" form, reverse row-major order): E = dL/dR = dL/dD.  A cell's
own E is complete once all its successors are done; it then hands
``E * p`` to each predecessor, ``p`` being the soft-min probabilities *of
its own forward soft-min*, recomputed from the stored predecessor values
with exactly the same arithmetic as the forward (min, shifted exps, sum).
The weights therefore never go through ``exp((R' - R - D) / gamma)``, which
loses all precision in float32 at small gamma.

Forward rows are split into an interior (both predecessors of the row above
exist: no bounds tests) and the few cells at the band's edges.  The sharp
case (the second smallest predecessor ``cut`` or more above the smallest)
is tested first with one branch and costs no ``exp`` at all.

Shortcut: a predecessor whose shifted exponent ``(R_p - min) / gamma``
exceeds ``cut`` (17 for float32, 37 for float64, i.e. exp(-cut) < eps / 2)
gets weight exactly 0 and no ``exp`` call, and ``log(1)`` is skipped; the
soft-min sum is >= 1, so this changes the value by at most about one unit in
the last place while making the common sharp case (small gamma relative to
the cost differences) several times cheaper.  Forward and backward use the
same rule, so the gradient is the exact derivative of what was computed.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _shifted_exp(t, cut, zero, one):
    """exp(-t) for t >= 0; exactly 1 at t == 0 and 0 once exp(-t) < eps / 2,
    where adding it to the soft-min sum (>= 1) could not change the result."""
    if t == zero:
        return one
    if t < cut:
        return math.exp(-t)
    return zero


@njit(cache=True, inline="always")
def _softmin_add(d, up, left, dg, gamma, inv, cut, zero, one):
    """d + softmin_gamma(up, left, dg), the forward rule of one cell.

    Sharp case first: when even the second smallest predecessor is ``cut``
    away from the smallest, both shifted exponentials would be exactly 0, the
    sum exactly 1 and the log skipped, so the result is ``d + min``; testing
    that once (one well-predicted branch, no exp) is what makes the common
    case cheap.  Otherwise the general rule below, term by term as the
    backward recomputes it."""
    mn = min(up, min(left, dg))
    mid = max(min(up, left), min(max(up, left), dg))
    if (mid - mn) * inv >= cut:
        return d + mn
    eu = _shifted_exp((up - mn) * inv, cut, zero, one)
    el = _shifted_exp((left - mn) * inv, cut, zero, one)
    ed = _shifted_exp((dg - mn) * inv, cut, zero, one)
    s = eu + el + ed
    if s == one:
        return d + mn
    return d + (mn - gamma * math.log(s))


@njit(cache=True, inline="always")
def _edge_cell(Rp, i, j, plo, phi, inf, zero):
    """(up, diagonal) predecessors of cell (i, j) near the band's edges or in row 0."""
    if i == 0:
        return inf, (zero if j == 0 else inf)
    up = Rp[j] if (j >= plo and j <= phi) else inf
    dg = Rp[j - 1] if (j - 1 >= plo and j - 1 <= phi) else inf
    return up, dg


@njit(cache=True, nogil=True)
def sdtw_forward(D, nx, ny, lo, hi, gamma, inf, cut, items, R, out):
    """For b in ``items``: fill R[b] inside the band, out[b] = R[b, nx-1, ny-1].

    Each row is split into its interior, where both predecessors of the row
    above exist (no bounds tests), and the few edge cells around it."""
    zero = gamma - gamma
    one = gamma / gamma
    inv = one / gamma
    for t in range(items.shape[0]):
        b = items[t]
        n = nx[b]
        m = ny[b]
        for i in range(n):
            Dc = D[b, i]
            Rc = R[b, i]
            Rp = R[b, i - 1] if i > 0 else R[b, 0]
            jlo = lo[b, i]
            jhi = hi[b, i]
            plo = 0
            phi = -1
            if i > 0:
                plo = lo[b, i - 1]
                phi = hi[b, i - 1]
            fa = max(jlo, plo + 1)
            fc = min(jhi, phi)
            if fa > fc:
                fa = jhi + 1
                fc = jhi
            left = inf
            for j in range(jlo, fa):
                up, dg = _edge_cell(Rp, i, j, plo, phi, inf, zero)
                left = _softmin_add(Dc[j], up, left, dg, gamma, inv, cut, zero, one)
                Rc[j] = left
            for j in range(fa, fc + 1):
                left = _softmin_add(Dc[j], Rp[j], left, Rp[j - 1], gamma, inv, cut, zero, one)
                Rc[j] = left
            for j in range(fc + 1, jhi + 1):
                up, dg = _edge_cell(Rp, i, j, plo, phi, inf, zero)
                left = _softmin_add(Dc[j], up, left, dg, gamma, inv, cut, zero, one)
                Rc[j] = left
        out[b] = R[b, n - 1, m - 1]


@njit(cache=True, nogil=True)
def sdtw_backward(R, nx, ny, lo, hi, gamma, inf, cut, gout, items, E):
    """For b in ``items``: E[b] (zero-initialised by the caller) receives dL/dD[b]."""
    zero = gamma - gamma
    one = gamma / gamma
    inv = one / gamma
    for t in range(items.shape[0]):
        b = items[t]
        n = nx[b]
        m = ny[b]
        E[b, n - 1, m - 1] = gout[b]
        for i in range(n - 1, -1, -1):
            Rc = R[b, i]
            Rp = R[b, i - 1] if i > 0 else R[b, 0]
            jlo = lo[b, i]
            jhi = hi[b, i]
            plo = 0
            phi = -1
            if i > 0:
                plo = lo[b, i - 1]
                phi = hi[b, i - 1]
            for j in range(jhi, jlo - 1, -1):
                e = E[b, i, j]
                if e == zero:
                    continue
                # identical arithmetic to the forward soft-min of cell (i, j)
                left = Rc[j - 1] if j > jlo else inf
                up, dg = _edge_cell(Rp, i, j, plo, phi, inf, zero)
                mn = min(up, min(left, dg))
                eu = _shifted_exp((up - mn) * inv, cut, zero, one)
                el = _shifted_exp((left - mn) * inv, cut, zero, one)
                ed = _shifted_exp((dg - mn) * inv, cut, zero, one)
                w = e / (eu + el + ed)
                if eu != zero:
                    E[b, i - 1, j] += w * eu
                if el != zero:
                    E[b, i, j - 1] += w * el
                if ed != zero and i > 0:
                    E[b, i - 1, j - 1] += w * ed


_POOL = None
_POOL_KEY = None


def _pool(n):
    """Process-local thread pool (re-created after fork, e.g. in DataLoader workers)."""
    global _POOL, _POOL_KEY
    import os

    key = (os.getpid(), n)
    if _POOL is None or _POOL_KEY[0] != key[0] or _POOL_KEY[1] < n:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="soft_dtw")
        _POOL_KEY = key
    return _POOL


def split_items(nx, ny, lo, hi, n_threads):
    """Greedy longest-first split of the batch by band cell count."""
    work = (hi - lo + 1).clip(min=0).sum(axis=1)
    order = np.argsort(-work, kind="stable")
    n_threads = max(1, min(n_threads, len(order)))
    loads = [0] * n_threads
    lists = [[] for _ in range(n_threads)]
    for b in order:
        t = loads.index(min(loads))
        lists[t].append(b)
        loads[t] += int(work[b])
    return [np.asarray(sorted(lst), dtype=np.int64) for lst in lists if lst], int(work.sum())


def run_batched(kernel, args_before, args_after, item_lists):
    """kernel(*args_before, items, *args_after) for every item list, threaded."""
    if len(item_lists) == 1:
        kernel(*args_before, item_lists[0], *args_after)
        return
    futs = [_pool(len(item_lists)).submit(kernel, *args_before, it, *args_after) for it in item_lists]
    for f in futs:
        f.result()
