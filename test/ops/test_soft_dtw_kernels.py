"""The CPU kernels' building blocks: vectorisable exp/log, the packed diagonal
layout, the backward's active rows, long sequences through the SIMD loops,
and the on-disk cache guard."""

import math

import numpy as np
import pytest
import torch
from numba import njit

from _sdtw_util import make_batch, rel_err, value_and_grads
from espnet2_ext.ops.soft_dtw import soft_dtw, soft_dtw_from_cost
from espnet2_ext.ops.soft_dtw import _cpu, _cpu_cost
from espnet2_ext.ops.soft_dtw._band import band_mask, packed_diagonals, row_bounds
from espnet2_ext.ops.soft_dtw._fastmath import exp_neg, log_1to3
from espnet2_ext.ops.soft_dtw._sqeuclid import sq_euclidean_autograd

F64, F32 = torch.float64, torch.float32


@njit
def _exp_all(t, cut, out):
    for i in range(t.shape[0]):
        out[i] = exp_neg(t[i], cut)


@njit
def _log_all(s, out):
    for i in range(s.shape[0]):
        out[i] = log_1to3(s[i])


@pytest.mark.parametrize("dtype,cut,tol", [(np.float32, 17.0, 2e-7), (np.float64, 37.0, 4e-16)])
def test_exp_neg_accuracy_and_exact_points(dtype, cut, tol):
    rng = np.random.default_rng(0)
    t = np.concatenate([-rng.random(200000) * (cut + 3), [0.0, -cut, -cut * (1 - 1e-6), -np.inf, -1e-30]])
    t = t.astype(dtype)
    out = np.empty_like(t)
    _exp_all(t, dtype(cut), out)
    assert out.dtype == dtype
    ref = np.exp(t.astype(np.float64))
    keep = t > -cut
    assert np.all(out[~keep] == 0)  # the cut: exactly 0, also at -inf
    rel = np.abs(out[keep] - ref[keep]) / ref[keep]
    assert rel.max() <= tol, rel.max()
    assert out[t == 0][0] == 1.0  # the smallest predecessor's term is exactly 1


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2.5e-7), (np.float64, 5e-16)])
def test_log_1to3_accuracy_and_exact_one(dtype, tol):
    rng = np.random.default_rng(1)
    s = np.concatenate([1 + 2 * rng.random(200000), [1.0, 3.0, math.sqrt(2), 2 * math.sqrt(2), 1 + 1e-7]])
    s = s.astype(dtype)
    out = np.empty_like(s)
    _log_all(s, out)
    assert out.dtype == dtype
    err = np.abs(out - np.log(s.astype(np.float64)))
    assert err.max() <= tol, err.max()
    assert out[s == 1][0] == 0.0  # a sharp cell adds exactly nothing


@pytest.mark.parametrize("bandwidth", [None, 0.5, 1.0, 3.0])
def test_packed_diagonals_layout(bandwidth):
    """Every band cell has its own slot; consecutive diagonals' row ranges
    grow by 0 or 1 (what lets out-of-band neighbours land on sentinels)."""
    nx = torch.tensor([9, 1, 6, 9, 2])
    ny = torch.tensor([7, 5, 1, 3, 7])
    N, M = 9, 7
    lo, hi = row_bounds(nx, ny, N, bandwidth)
    dlo, dhi, base, total = packed_diagonals(lo, hi, M)
    mask = band_mask(lo, hi, M)
    assert dlo.shape == dhi.shape == (5, N + M + 2) and base.shape == (5, N + M)
    for bound in (dlo, dhi):
        step = bound[:, 1:] - bound[:, :-1]
        assert torch.all((step == 0) | (step == 1))
    assert torch.all(dlo <= dhi + 1)
    slots = set()
    for b in range(5):
        for k in range(-1, N + M - 1):
            rows = [i for i in range(N) if 0 <= k - i < M and mask[b, i, k - i]]
            a, z = int(dlo[b, k + 1]), int(dhi[b, k + 1])
            assert rows == list(range(a, z + 1)), (b, k)
            for p in range(int(base[b, k + 1]), int(base[b, k + 1]) + len(rows) + 2):
                assert p not in slots
                slots.add(p)
        # after an item's last diagonal: empty, at row n
        n = int(nx[b])
        assert torch.all(dlo[b, int(nx[b] + ny[b]):] == n) and torch.all(dhi[b, int(nx[b] + ny[b]):] == n - 1)
    assert len(slots) == total


@pytest.mark.parametrize("bandwidth", [None, 0.5, 3.0])
@pytest.mark.parametrize("d", [1, 37, 64, 1600])
def test_cost_fill_writes_exactly_the_band_cells(bandwidth, d):
    """The squared Euclidean cost computed into the packed table (4 x 4
    blocks over strips of 16 rows for small d, 4 for large d; partial blocks
    at the end of each item; the band's edges) lands in every band cell's
    slot with the cost matrix's value, and nowhere else."""
    N, M = 23, 18  # not multiples of 4
    x, y, xl, yl = make_batch(5, N, M, d, seed=d)
    xl[1], yl[2], xl[3], xl[4] = 1, 5, 16, 14
    lo, hi = row_bounds(xl, yl, N, bandwidth)
    dlo, dhi, base, total = packed_diagonals(lo, hi, M)
    mask = band_mask(lo, hi, M)
    D = sq_euclidean_autograd(x, y).numpy()
    R = np.full(total, np.nan)
    for b in range(5):
        n, m = int(xl[b]), int(yl[b])
        xx, yy = (x[b] ** 2).sum(-1).numpy(), (y[b] ** 2).sum(-1).numpy()
        off = np.array([int(base[b, k + 1] + 1 - dlo[b, k + 1]) for k in range(N + M - 1)], dtype=np.int64)
        _cpu_cost.sq_cost_fill(x.numpy(), y.numpy(), b, n, m, lo.numpy(), hi.numpy(), xx, yy, off, R)
        for i in range(N):
            for j in range(M):
                if mask[b, i, j]:
                    got = R[off[i + j] + i]
                    assert abs(got - D[b, i, j]) <= 1e-12 * max(1.0, abs(D[b, i, j])), (b, i, j, got)
                    R[off[i + j] + i] = np.nan  # checked
    assert np.isnan(R).all()  # no other slot was written


@pytest.mark.parametrize("gamma", [10.0, 0.1, 0.003])
@pytest.mark.parametrize("bandwidth", [None, 7.0])
def test_long_sequences_through_the_simd_loops(gamma, bandwidth):
    """Diagonals of 60-130 cells (several vector iterations plus a remainder),
    variable lengths, soft (gamma 10: every cell's gradient nonzero) to sharp."""
    x, y, xl, yl = make_batch(3, 130, 97, 6, seed=int(gamma * 100), scale=0.5)
    xl[1], yl[2] = 61, 64
    kw = dict(x_lengths=xl, y_lengths=yl, gamma=gamma, bandwidth=bandwidth)
    ref = value_and_grads(soft_dtw, x, y, backend="reference", **kw)
    for dtype, tol in ((F64, (1e-8, 1e-8)), (F32, (2e-5, 2e-3))):
        got = value_and_grads(soft_dtw, x.to(dtype), y.to(dtype), backend="cpu", **kw)
        for k, (a, b) in enumerate(zip(got, ref)):
            assert torch.isfinite(a).all()
            assert rel_err(a, b) <= tol[min(k, 1)], (dtype, k, rel_err(a, b))


def test_unit_norm_frames_the_loss_regime():
    """Unit-norm frames at gamma 0.1 (ssl_sdtw's default): soft alignment,
    the gradient nonzero on a band around the diagonal."""
    g = torch.Generator().manual_seed(3)
    x = torch.nn.functional.normalize(torch.randn(2, 90, 64, generator=g, dtype=F64), dim=-1)
    y = torch.nn.functional.normalize(torch.randn(2, 110, 64, generator=g, dtype=F64), dim=-1)
    for normalize in (False, True):
        ref = value_and_grads(soft_dtw, x, y, gamma=0.1, normalize=normalize, backend="reference")
        got = value_and_grads(soft_dtw, x, y, gamma=0.1, normalize=normalize, backend="cpu")
        for a, b in zip(got, ref):
            assert rel_err(a, b) <= 1e-8


def test_backward_with_zero_upstream_gradient_for_some_items():
    """An item whose value gets no gradient: its dL/dcost is exactly 0 (the
    backward visits no row of it), the others are unaffected."""
    g = torch.Generator().manual_seed(5)
    cost = torch.rand(3, 40, 30, generator=g, dtype=F64)
    outs = []
    for backend in ("reference", "cpu"):
        c = cost.clone().requires_grad_(True)
        v = soft_dtw_from_cost(c, gamma=0.2, backend=backend)
        (gc,) = torch.autograd.grad((v * torch.tensor([1.0, 0.0, -2.0], dtype=F64)).sum(), [c])
        outs.append(gc)
    assert torch.count_nonzero(outs[1][1]) == 0
    assert rel_err(outs[1], outs[0]) <= 1e-8


def test_backward_visits_only_the_rows_near_the_alignment(monkeypatch):
    """Sharp alignment: the gradient is nonzero on a thin path only, and the
    result still equals the reference (the skipped cells are exactly 0)."""
    x, y, _, _ = make_batch(2, 80, 80, 4, seed=2, scale=3.0, lengths=False)
    ref = value_and_grads(soft_dtw, x, y, gamma=0.01, backend="reference")
    got = value_and_grads(soft_dtw, x, y, gamma=0.01, backend="cpu")
    for a, b in zip(got, ref):
        assert rel_err(a, b) <= 1e-8
    c = (torch.cdist(x, y) ** 2).requires_grad_(True)
    (gc,) = torch.autograd.grad(soft_dtw_from_cost(c, gamma=0.01, backend="cpu").sum(), [c])
    assert torch.count_nonzero(gc) < 0.1 * gc.numel()


def test_kernel_cache_key_covers_the_inlined_sources(monkeypatch):
    """Numba keys the kernels' disk cache on _cpu.py alone; _cpu.py records the
    hash of the files it compiles in, so editing one of them means editing
    _cpu.py too (this test fails until then), which is what invalidates the cache."""
    assert _cpu._INLINED == ("_cell.py", "_fastmath.py", "_cpu_cost.py")
    assert _cpu.inlined_sources_sha1() == _cpu._INLINED_SHA1, (
        f"one of {_cpu._INLINED} changed: set _INLINED_SHA1 in _cpu.py to "
        f"{_cpu.inlined_sources_sha1()!r}")
    assert _cpu._cache_is_safe()
    monkeypatch.setattr(_cpu, "_INLINED_SHA1", "0" * 40)  # an edit not recorded yet
    assert not _cpu._cache_is_safe()
