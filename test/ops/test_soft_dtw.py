"""soft-DTW operator: kernels vs the plain-PyTorch reference, gradients, edge cases."""

import math

import pytest
import torch

from _sdtw_util import make_batch, rel_err, value_and_grads
from espnet2_ext.ops.soft_dtw import SoftDTW, soft_dtw, soft_dtw_from_cost
from espnet2_ext.ops.soft_dtw import _cpu_cost, _sqeuclid
from espnet2_ext.ops.soft_dtw._band import band_mask, diag_bounds, row_bounds

F64, F32 = torch.float64, torch.float32
# documented float32 tolerances (kernel in float32 vs the float64 reference),
# relative to the largest magnitude of the compared tensor
TOL32_VALUE = 2e-5
TOL32_GRAD = 2e-3


def _cmp(a, b, tol):
    assert a.shape == b.shape
    assert torch.isfinite(a).all()
    err = rel_err(a, b)
    assert err <= tol, f"relative error {err:.3g} > {tol:.1g}"


# ----------------------------------------------------------------------------
# against the reference


@pytest.mark.parametrize("gamma", [1.0, 0.1, 0.01, 0.001])
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("bandwidth", [None, 2.0])
def test_cpu_matches_reference_float64(gamma, normalize, bandwidth):
    x, y, xl, yl = make_batch(4, 11, 7, 5, seed=int(gamma * 1000) + 7 * normalize)
    kw = dict(x_lengths=xl, y_lengths=yl, gamma=gamma, bandwidth=bandwidth, normalize=normalize)
    ref = value_and_grads(soft_dtw, x, y, backend="reference", **kw)
    got = value_and_grads(soft_dtw, x, y, backend="cpu", **kw)
    for a, b in zip(got, ref):
        assert a.dtype == F64
        _cmp(a, b, 1e-8)


@pytest.mark.parametrize("gamma", [1.0, 0.1, 0.01, 0.001])
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("bandwidth", [None, 1.5])
def test_cpu_float32_matches_float64_reference(gamma, normalize, bandwidth):
    x, y, xl, yl = make_batch(4, 12, 9, 6, seed=3 + int(gamma * 100), scale=1.0)
    kw = dict(x_lengths=xl, y_lengths=yl, gamma=gamma, bandwidth=bandwidth, normalize=normalize)
    ref = value_and_grads(soft_dtw, x, y, backend="reference", **kw)
    got = value_and_grads(soft_dtw, x.float(), y.float(), backend="cpu", **kw)
    assert all(t.dtype == F32 for t in got)
    _cmp(got[0], ref[0], TOL32_VALUE if not normalize else 1e-4)
    _cmp(got[1], ref[1], TOL32_GRAD)
    _cmp(got[2], ref[2], TOL32_GRAD)


def test_reference_matches_naive_loops():
    """The reference itself against a direct cell-by-cell DP (no autograd)."""
    x, y, xl, yl = make_batch(3, 6, 5, 3, seed=11)
    gamma = 0.3
    v = soft_dtw(x, y, xl, yl, gamma=gamma, backend="reference")
    for b in range(3):
        n, m = int(xl[b]), int(yl[b])
        D = ((x[b, :n, None] - y[b, None, :m]) ** 2).sum(-1)
        R = torch.full((n + 1, m + 1), math.inf, dtype=F64)
        R[0, 0] = 0
        for i in range(1, n + 1):
            for j in range(1, m + 1):
                a = torch.stack([R[i - 1, j - 1], R[i - 1, j], R[i, j - 1]])
                R[i, j] = D[i - 1, j - 1] - gamma * torch.logsumexp(-a / gamma, 0)
        assert abs(v[b].item() - R[n, m].item()) < 1e-10


def test_from_cost_l1_matches_reference_and_grads_flow_to_cost():
    x, y, xl, yl = make_batch(3, 8, 6, 4, seed=5)
    cost = torch.cdist(x, y, p=1)
    outs = []
    for backend in ("reference", "cpu"):
        c = cost.clone().requires_grad_(True)
        v = soft_dtw_from_cost(c, xl, yl, gamma=0.05, bandwidth=3, backend=backend)
        (g,) = torch.autograd.grad(v.sum(), [c])
        outs.append((v, g))
    _cmp(outs[1][0], outs[0][0], 1e-8)
    _cmp(outs[1][1], outs[0][1], 1e-8)
    assert outs[1][1].abs().sum() > 0
    # the cost gradient of a soft alignment is a (sub-)stochastic occupancy: >= 0,
    # total mass at least the path length of the shortest item
    assert (outs[1][1] >= 0).all()


def test_module_equals_function():
    x, y, xl, yl = make_batch(2, 7, 9, 3, seed=2)
    mod = SoftDTW(gamma=0.2, bandwidth=2.5, normalize=True, backend="cpu")
    assert torch.equal(mod(x, y, xl, yl),
                       soft_dtw(x, y, xl, yl, gamma=0.2, bandwidth=2.5, normalize=True, backend="cpu"))
    assert "gamma=0.2" in repr(mod)


# ----------------------------------------------------------------------------
# gradcheck (float64, small)


@pytest.mark.parametrize("normalize,bandwidth", [(False, None), (True, None), (False, 1.0), (True, 2.0)])
def test_gradcheck_cpu(normalize, bandwidth):
    x, y, xl, yl = make_batch(2, 5, 4, 3, seed=13, scale=1.0)
    x.requires_grad_(True)
    y.requires_grad_(True)
    f = lambda a, b: soft_dtw(a, b, xl, yl, gamma=0.5, bandwidth=bandwidth,  # noqa: E731
                              normalize=normalize, backend="cpu")
    assert torch.autograd.gradcheck(f, (x, y), eps=1e-6, atol=1e-6)


def test_gradcheck_from_cost():
    g = torch.Generator().manual_seed(1)
    cost = torch.rand(2, 4, 6, generator=g, dtype=F64).requires_grad_(True)
    f = lambda c: soft_dtw_from_cost(c, torch.tensor([4, 2]), torch.tensor([6, 3]),  # noqa: E731
                                     gamma=0.3, backend="cpu")
    assert torch.autograd.gradcheck(f, (cost,), eps=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------
# edge cases


@pytest.mark.parametrize("N,M", [(1, 1), (1, 6), (6, 1), (40, 3), (3, 40), (2, 2)])
@pytest.mark.parametrize("bandwidth", [None, 0.1, 1.0])
def test_edge_shapes(N, M, bandwidth):
    x, y, xl, yl = make_batch(3, N, M, 2, seed=N * 100 + M)
    xl[1], yl[2] = 1, 1  # length-1 items
    kw = dict(x_lengths=xl, y_lengths=yl, gamma=0.01, bandwidth=bandwidth)
    ref = value_and_grads(soft_dtw, x, y, backend="reference", **kw)
    got = value_and_grads(soft_dtw, x, y, backend="cpu", **kw)
    for a, b in zip(got, ref):
        _cmp(a, b, 1e-8)


def test_length_one_against_closed_form():
    """A 1-frame x aligned to y: every y frame is matched to x[0], no softness."""
    x = torch.randn(1, 1, 3, dtype=F64)
    y = torch.randn(1, 5, 3, dtype=F64)
    v = soft_dtw(x, y, gamma=0.1, backend="cpu")
    assert torch.allclose(v, ((x - y) ** 2).sum(), atol=1e-12)


def test_tiny_gamma_no_nan_and_hard_dtw_limit():
    x, y, xl, yl = make_batch(3, 30, 20, 4, seed=9, scale=10.0)
    for dtype in (F64, F32):
        v, gx, gy = value_and_grads(soft_dtw, x.to(dtype), y.to(dtype), x_lengths=xl, y_lengths=yl,
                                    gamma=1e-3, backend="cpu")
        assert torch.isfinite(v).all() and torch.isfinite(gx).all() and torch.isfinite(gy).all()
    # gamma -> 0 approaches hard DTW from below
    n, m = int(xl[1]), int(yl[1])
    D = ((x[1, :n, None] - y[1, None, :m]) ** 2).sum(-1)
    R = torch.full((n + 1, m + 1), math.inf, dtype=F64)
    R[0, 0] = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            R[i, j] = D[i - 1, j - 1] + min(R[i - 1, j - 1], R[i - 1, j], R[i, j - 1])
    v = soft_dtw(x, y, xl, yl, gamma=1e-3, backend="cpu")[1].item()
    assert R[n, m].item() - 3 * 1e-3 * math.log(3) * (n + m) <= v <= R[n, m].item() + 1e-9


def test_float32_backward_accurate_at_small_gamma():
    """Backward weights come from the forward soft-min, not exp((R'-R-D)/gamma)."""
    x, y, _, _ = make_batch(2, 300, 300, 8, seed=21, scale=1.0, lengths=False)
    for gamma in (0.01, 0.001):
        ref = value_and_grads(soft_dtw, x, y, gamma=gamma, backend="cpu")
        got = value_and_grads(soft_dtw, x.float(), y.float(), gamma=gamma, backend="cpu")
        _cmp(got[0], ref[0], 1e-5)
        _cmp(got[1], ref[1], 1e-3)
        _cmp(got[2], ref[2], 1e-3)


def test_self_term_takes_the_symmetric_backward(monkeypatch):
    """soft_dtw(x, x) (one tensor, same lengths): the backward computes d/dx
    once and doubles it; equal to the sum of both gradients of the general path."""
    from espnet2_ext.ops.soft_dtw import _cpu

    flags = []
    orig = _cpu.sdtw_backward_sq
    monkeypatch.setattr(_cpu, "sdtw_backward_sq", lambda *a: flags.append(a[12:14]) or orig(*a))
    x, _, xl, _ = make_batch(3, 14, 14, 5, seed=12, scale=0.5)
    for bandwidth in (None, 2.0):
        flags.clear()
        a = x.clone().requires_grad_(True)
        (g_self,) = torch.autograd.grad(soft_dtw(a, a, xl, xl, gamma=0.1, bandwidth=bandwidth).sum(), [a])
        assert flags and all(f == (True, False) for f in flags)
        b, c = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        gb, gc = torch.autograd.grad(soft_dtw(b, c, xl, xl, gamma=0.1, bandwidth=bandwidth).sum(), [b, c])
        _cmp(g_self, gb + gc, 1e-12)
        r = x.clone().requires_grad_(True)
        (g_ref,) = torch.autograd.grad(
            soft_dtw(r, r, xl, xl, gamma=0.1, bandwidth=bandwidth, backend="reference").sum(), [r])
        _cmp(g_self, g_ref, 1e-8)


def test_divergence_properties():
    x, y, xl, yl = make_batch(3, 9, 6, 3, seed=4)
    d_xx = soft_dtw(x, x, xl, xl, gamma=0.5, normalize=True, backend="cpu")
    assert d_xx.abs().max() < 1e-12
    d_xy = soft_dtw(x, y, xl, yl, gamma=0.5, normalize=True, backend="cpu")
    d_yx = soft_dtw(y, x, yl, xl, gamma=0.5, normalize=True, backend="cpu")
    assert torch.allclose(d_xy, d_yx, atol=1e-10)
    assert (d_xy >= -1e-10).all()


# ----------------------------------------------------------------------------
# lengths, padding, band


def _sdtw_via_cost_function(x, y, x_lengths, y_lengths, gamma, normalize):
    """soft_dtw through the separate cost Function (``_sqeuclid.SqEuclidean``,
    whose backward is ``cost_grads``) and the DP on that cost."""
    def one(a, b, la, lb):
        return soft_dtw_from_cost(_sqeuclid.SqEuclidean.apply(a, b), la, lb, gamma=gamma, backend="cpu")

    v = one(x, y, x_lengths, y_lengths)
    if normalize:
        v = v - 0.5 * (one(x, x, x_lengths, x_lengths) + one(y, y, y_lengths, y_lengths))
    return v


@pytest.mark.parametrize("path", ["fused", "cost_grads_dense", "cost_grads_runs"])
@pytest.mark.parametrize("scale,gamma", [(1.0, 0.01), (0.2, 1.0)])  # sharp and soft alignments
@pytest.mark.parametrize("normalize", [False, True])
def test_cost_gradient_paths_match_autograd(monkeypatch, path, scale, gamma, normalize):
    """The squared-Euclidean backward equals torch autograd through the
    reference cost: the CPU Function's own (sums over the nonzero runs of its
    packed G, taken during the DP backward), and ``cost_grads`` on a
    row-major G (dense matrix products, or the sums over the rows' runs)."""
    monkeypatch.setattr(_sqeuclid, "_SPAN_FRACTION", 0.0 if path == "cost_grads_dense" else float("inf"))
    calls = []
    orig = _cpu_cost.span_grad
    monkeypatch.setattr(_cpu_cost, "span_grad", lambda *a: calls.append(1) or orig(*a))
    x, y, xl, yl = make_batch(3, 9, 12, 5, seed=11, scale=scale)
    kw = dict(x_lengths=xl, y_lengths=yl, gamma=gamma, normalize=normalize)
    ref = value_and_grads(soft_dtw, x, y, backend="reference", **kw)
    if path == "fused":
        got = value_and_grads(soft_dtw, x, y, backend="cpu", **kw)
    else:
        got = value_and_grads(_sdtw_via_cost_function, x, y, **kw)
    assert bool(calls) == (path == "cost_grads_runs")
    for a, b in zip(got, ref):
        _cmp(a, b, 1e-8)
    for b in range(3):  # padded frames: exactly zero on every path
        assert torch.count_nonzero(got[1][b, xl[b]:]) == 0
        assert torch.count_nonzero(got[2][b, yl[b]:]) == 0


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("want", [(True, True), (True, False), (False, True)])
def test_run_gradient_kernel_against_dense_products(dtype, want):
    """The row-run kernel on a G with zero rows, single-cell runs, runs with
    zeros inside, and only one of the two gradients asked for."""
    g = torch.Generator().manual_seed(4)
    B, N, M, d = 3, 17, 23, 37  # d not a multiple of any vector width
    x = torch.randn(B, N, d, generator=g, dtype=F64).to(dtype)
    y = torch.randn(B, M, d, generator=g, dtype=F64).to(dtype)
    G = torch.zeros(B, N, M, dtype=F64)
    for b in range(B):
        for i in range(N):
            if (b + i) % 5 == 4:
                continue  # a row without nonzeros (a padded frame)
            j0 = int(torch.randint(0, M, (1,), generator=g))
            j1 = min(M, j0 + int(torch.randint(1, 8, (1,), generator=g)))
            G[b, i, j0:j1] = torch.rand(j1 - j0, generator=g, dtype=F64)
            G[b, i, (j0 + j1) // 2] = 0.0  # a zero inside the run
    G = G.to(dtype)
    dense = _sqeuclid._dense_grads(x, y, G, *want)
    runs = _sqeuclid.cost_grads(x, y, G, *want)  # narrow G: the run kernel
    for a, b in zip(runs, dense):
        if b is None:
            assert a is None
            continue
        assert a.dtype == dtype
        _cmp(a, b, 1e-12 if dtype == F64 else 2e-6)
    if want[0]:
        rows_without = (G != 0).sum(-1) == 0
        assert torch.count_nonzero(runs[0][rows_without]) == 0


def test_run_and_dense_items_in_one_batch(monkeypatch):
    """The path is chosen per item: a dense item goes through the matrix
    products, the narrow ones through the run kernel, all equal to the products."""
    g = torch.Generator().manual_seed(8)
    x = torch.randn(3, 20, 9, generator=g, dtype=F64)
    y = torch.randn(3, 24, 9, generator=g, dtype=F64)
    G = torch.zeros(3, 20, 24, dtype=F64)
    G[0] = torch.rand(20, 24, generator=g, dtype=F64)  # dense
    for b in (1, 2):
        for i in range(20):
            G[b, i, i:i + 3] = torch.rand(3, generator=g, dtype=F64)
    seen = []
    orig = _cpu_cost.span_grad
    monkeypatch.setattr(_cpu_cost, "span_grad", lambda *a: seen.extend(a[7].tolist()) or orig(*a))
    runs = _sqeuclid.cost_grads(x, y, G, True, True)
    dense = _sqeuclid._dense_grads(x, y, G, True, True)
    assert sorted(seen) == [1, 2]
    for a, b in zip(runs, dense):
        _cmp(a, b, 1e-12)


def test_run_gradient_path_taken_only_when_narrow(monkeypatch):
    """Sharp alignment of long sequences: the DP gradient G is nonzero near the
    path only, and ``cost_grads`` takes the row-run kernel; soft alignment
    with all terms kept: dense products."""
    taken = []
    orig = _cpu_cost.span_grad
    monkeypatch.setattr(_cpu_cost, "span_grad", lambda *a: taken.append(1) or orig(*a))
    for scale, gamma, expect in ((1.0, 0.1, True), (0.05, 1.0, False)):
        taken.clear()
        x, y, _, _ = make_batch(2, 60, 60, 8, dtype=F32, seed=5, scale=scale)
        cost = _sqeuclid.sq_euclidean_autograd(x, y).requires_grad_(True)
        (G,) = torch.autograd.grad(soft_dtw_from_cost(cost, gamma=gamma, backend="cpu").sum(), [cost])
        _sqeuclid.cost_grads(x, y, G, True, True)
        assert bool(taken) == expect, (scale, gamma)


def test_padded_frames_get_exact_zero_grad_and_do_not_matter():
    x, y, xl, yl = make_batch(4, 10, 8, 3, seed=8)
    xl = torch.tensor([10, 4, 1, 7])
    yl = torch.tensor([8, 8, 3, 1])
    for normalize in (False, True):
        for dtype in (F64, F32):
            v, gx, gy = value_and_grads(soft_dtw, x.to(dtype), y.to(dtype), x_lengths=xl, y_lengths=yl,
                                        gamma=0.1, normalize=normalize, backend="cpu")
            for b in range(4):
                assert torch.count_nonzero(gx[b, xl[b]:]) == 0
                assert torch.count_nonzero(gy[b, yl[b]:]) == 0
                assert torch.count_nonzero(gx[b, :xl[b]]) > 0
            # garbage in the padding changes nothing
            x2, y2 = x.clone(), y.clone()
            for b in range(4):
                x2[b, xl[b]:] = 1e3
                y2[b, yl[b]:] = -1e3
            v2 = soft_dtw(x2.to(dtype), y2.to(dtype), xl, yl, gamma=0.1, normalize=normalize, backend="cpu")
            assert torch.equal(v, v2)


def _connected(lo, hi, n, m):
    """End cell reachable from (0, 0) with steps (1,0), (0,1), (1,1) inside the band."""
    if lo[0] != 0 or hi[n - 1] != m - 1:
        return False
    for i in range(n):
        if hi[i] < lo[i]:
            return False
        if i and (lo[i] < lo[i - 1] or hi[i] < hi[i - 1] or lo[i] > hi[i - 1] + 1):
            return False
    return True


def test_band_definition_and_reachability():
    lengths = [1, 2, 3, 5, 8, 13, 50, 97]
    for n in lengths:
        for m in lengths:
            for w in (0.01, 0.5, 0.7, 1.0, 2.5, 10.0):
                lo, hi = row_bounds(torch.tensor([n]), torch.tensor([m]), n, w)
                lo, hi = lo[0].tolist(), hi[0].tolist()
                assert _connected(lo, hi, n, m), (n, m, w)
                wf = max(w, 0.5)
                for i in range(n):
                    for j in (lo[i] - 1, lo[i], hi[i], hi[i] + 1):
                        inside = abs(i * (m - 1) - j * (n - 1)) <= wf * max(n - 1, m - 1) and 0 <= j < m
                        assert inside == (lo[i] <= j <= hi[i]), (n, m, w, i, j)
    # N == M: the classic |i - j| <= w
    lo, hi = row_bounds(torch.tensor([20]), torch.tensor([20]), 20, 3)
    mask = band_mask(lo, hi, 20)[0]
    i, j = torch.meshgrid(torch.arange(20), torch.arange(20), indexing="ij")
    assert torch.equal(mask, (i - j).abs() <= 3)


def test_diag_bounds_cover_exactly_the_band():
    xl, yl = torch.tensor([9, 4, 9]), torch.tensor([5, 5, 1])
    lo, hi = row_bounds(xl, yl, 9, 1.0)
    dlo, dhi = diag_bounds(lo, hi, 9 + 5 - 1)
    mask = band_mask(lo, hi, 5)
    for b in range(3):
        for k in range(9 + 5 - 1):
            rows = [i for i in range(9) if 0 <= k - i < 5 and mask[b, i, k - i]]
            got = list(range(int(dlo[b, k]), int(dhi[b, k]) + 1))
            assert rows == got, (b, k)


def test_band_cells_outside_are_never_used():
    x, y, xl, yl = make_batch(3, 16, 12, 3, seed=6)
    cost = torch.cdist(x, y) ** 2
    lo, hi = row_bounds(xl, yl, 16, 1.5)
    outside = ~band_mask(lo, hi, 12)
    c1 = cost.clone().requires_grad_(True)
    v1 = soft_dtw_from_cost(c1, xl, yl, gamma=0.1, bandwidth=1.5, backend="cpu")
    (g1,) = torch.autograd.grad(v1.sum(), [c1])
    assert torch.count_nonzero(g1[outside]) == 0
    c2 = cost.clone()
    c2[outside] = 1e30  # would dominate if any of these cells were computed
    v2 = soft_dtw_from_cost(c2, xl, yl, gamma=0.1, bandwidth=1.5, backend="cpu")
    assert torch.equal(v1, v2)
    # and the band does constrain: a narrow band differs from no band
    v_full = soft_dtw_from_cost(cost, xl, yl, gamma=0.1, backend="cpu")
    assert not torch.allclose(v1, v_full)


# ----------------------------------------------------------------------------
# dtype


def test_dtype_preserved_and_kernels_specialised_per_dtype():
    from espnet2_ext.ops.soft_dtw import _cpu

    for dtype in (F32, F64):
        x, y, xl, yl = make_batch(2, 5, 4, 3, dtype=dtype)
        v, gx, gy = value_and_grads(soft_dtw, x, y, x_lengths=xl, y_lengths=yl, backend="cpu")
        assert v.dtype == gx.dtype == gy.dtype == dtype
        c = torch.rand(2, 4, 3, dtype=dtype, requires_grad=True)
        (g,) = torch.autograd.grad(soft_dtw_from_cost(c, backend="cpu").sum(), [c])
        assert g.dtype == dtype
    for kern in (_cpu.sdtw_forward, _cpu.sdtw_backward, _cpu.sdtw_forward_sq, _cpu.sdtw_backward_sq):
        kinds = {str(sig[0].dtype) for sig in kern.signatures}
        assert kinds == {"float32", "float64"}, kinds


def test_auto_backend_uses_cpu_kernel_on_cpu(monkeypatch):
    from espnet2_ext.ops.soft_dtw import _cpu

    calls = []
    for name in ("sdtw_forward_sq", "sdtw_forward"):
        orig = getattr(_cpu, name)
        monkeypatch.setattr(_cpu, name, lambda *a, _f=orig, _n=name: calls.append(_n) or _f(*a))
    x, y, _, _ = make_batch(1, 3, 3, 2)
    soft_dtw(x, y)
    soft_dtw_from_cost(torch.rand(1, 3, 4, dtype=F64))
    assert calls == ["sdtw_forward_sq", "sdtw_forward"]


# ----------------------------------------------------------------------------
# bad input


def _ok():
    return make_batch(2, 5, 4, 3, lengths=False)[:2]


@pytest.mark.parametrize("case,name", [
    (lambda x, y: soft_dtw(x[0], y), "x"),
    (lambda x, y: soft_dtw(x, y[..., None]), "y"),
    (lambda x, y: soft_dtw(x, y[:1]), "y batch"),
    (lambda x, y: soft_dtw(x, y[..., :2]), "y feature dim"),
    (lambda x, y: soft_dtw(x, y.float()), "y dtype"),
    (lambda x, y: soft_dtw(x.half(), y.half()), "x must be float32"),
    (lambda x, y: soft_dtw(x[:, :0], y), "x must have non-empty"),
    (lambda x, y: soft_dtw(x.numpy(), y), "x must be a torch.Tensor"),
    (lambda x, y: soft_dtw(x, y, x_lengths=torch.tensor([5, 6])), "x_lengths"),
    (lambda x, y: soft_dtw(x, y, x_lengths=torch.tensor([0, 2])), "x_lengths"),
    (lambda x, y: soft_dtw(x, y, y_lengths=torch.tensor([5, 4])), "y_lengths"),
    (lambda x, y: soft_dtw(x, y, y_lengths=torch.tensor([-1, 4])), "y_lengths"),
    (lambda x, y: soft_dtw(x, y, y_lengths=torch.tensor([4])), "y_lengths"),
    (lambda x, y: soft_dtw(x, y, y_lengths=torch.tensor([4.0, 4.0])), "y_lengths"),
    (lambda x, y: soft_dtw(x, y, x_lengths=torch.tensor([[5, 5]])), "x_lengths"),
    (lambda x, y: soft_dtw(x.index_fill(1, torch.tensor([2]), math.nan), y), "x contains non-finite"),
    (lambda x, y: soft_dtw(x, y.index_fill(2, torch.tensor([0]), math.inf), y), "y contains non-finite"),
    (lambda x, y: soft_dtw(x, y, gamma=0), "gamma"),
    (lambda x, y: soft_dtw(x, y, gamma=-1.0), "gamma"),
    (lambda x, y: soft_dtw(x, y, gamma=math.nan), "gamma"),
    (lambda x, y: soft_dtw(x, y, gamma="a"), "gamma"),
    (lambda x, y: soft_dtw(x.float(), y.float(), gamma=1e-40, backend="cpu"), "gamma"),
    (lambda x, y: soft_dtw(x, y, backend="tpu"), "backend"),
    (lambda x, y: soft_dtw(x, y, backend="cuda"), "backend"),
    (lambda x, y: soft_dtw(x, y, bandwidth=0), "bandwidth"),
    (lambda x, y: soft_dtw(x, y, bandwidth=-2.0), "bandwidth"),
    (lambda x, y: soft_dtw(x, y, bandwidth=math.nan), "bandwidth"),
    (lambda x, y: soft_dtw_from_cost(x[0]), "cost"),
    (lambda x, y: soft_dtw_from_cost(torch.full((1, 2, 2), math.inf)), "cost contains non-finite"),
    (lambda x, y: soft_dtw_from_cost(torch.rand(1, 2, 2), x_lengths=torch.tensor([3])), "x_lengths"),
    (lambda x, y: soft_dtw_from_cost(torch.rand(1, 2, 2), gamma=0.0), "gamma"),
    (lambda x, y: soft_dtw_from_cost(torch.rand(1, 2, 2), bandwidth=0.0), "bandwidth"),
    (lambda x, y: soft_dtw_from_cost(torch.rand(1, 2, 2), backend="numba"), "backend"),
    (lambda x, y: SoftDTW(gamma=-0.1), "gamma"),
    (lambda x, y: SoftDTW(bandwidth=0), "bandwidth"),
    (lambda x, y: SoftDTW(backend="gpu"), "backend"),
])
def test_bad_input_raises_value_error(case, name):
    x, y = _ok()
    with pytest.raises(ValueError, match=name):
        case(x, y)
