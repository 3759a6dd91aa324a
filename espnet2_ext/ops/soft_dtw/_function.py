"""The soft-DTW DP as autograd Functions, and the backend dispatch.

``dp(cost (B, N, M), nx, ny, gamma, bandwidth, backend) -> (B,)``: the value
``R[nx - 1, ny - 1]`` of every item, differentiable in ``cost``.

``dp_sq_euclidean(x (B, N, d), y (B, M, d), ...) -> (B,)``: the same with
the squared Euclidean cost of ``x`` and ``y``.  On CPU one Function does
both: the forward kernel reads the cost from ``x y^T`` and the squared norms
(the cost matrix is never materialised), and the backward turns the DP's
gradient into those of ``x`` and ``y`` (``_sqeuclid.cost_grads``).  On CUDA
the cost is a separate Function (``_sqeuclid.SqEuclidean``) feeding
``dp``; ``"reference"`` is the plain-PyTorch DP with torch's autograd.

The kernels (``_cpu.py``, ``_cuda.py``) run in the input dtype.
"""

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from . import _workspace
from ._band import diag_bounds, packed_diagonals, row_bounds

# exp(-cut) < eps / 2: such a soft-min term cannot change the sum (>= 1)
_CUT = {np.float32: 17.0, np.float64: 37.0}

# below this many band cells in the batch per thread, fewer threads
_MIN_CELLS_PER_THREAD = 1 << 16

# Offsets (elements) of R and dL/dcost inside their pooled buffers.  Fresh large
# buffers all start at the same offset within a page, so the forward's cost
# reads and R writes (and the backward's R reads and E writes) would compete
# for the same L1 sets: 40% slower kernels, measured.  Skewed by a page plus
# 64 / 192 bytes they do not.
_SKEW_R = 1040
_SKEW_E = 2096


def _np_dtype(dtype):
    return np.float32 if dtype == torch.float32 else np.float64


def _scalars(dtype, gamma):
    """gamma, inf and cut in the kernels' dtype (float32 stays float32 throughout)."""
    T = _np_dtype(dtype)
    g = T(gamma)
    with np.errstate(over="ignore", divide="ignore"):
        if not np.isfinite(T(1) / g):
            raise ValueError(f"gamma={gamma!r} is too small for {dtype} (1/gamma overflows)")
    return g, T(np.inf), T(_CUT[T])


# ----------------------------------------------------------------------------
# CPU: the two kernels around a saved state


def _cpu_forward(ctx, P, xx, yrev, alpha, floor, nx, ny, lo, hi, gamma, before=None):
    """Run the CPU forward kernel on the cost ``max(alpha P + xx + yy, floor)``
    and keep on ``ctx`` what the backward needs.  Returns the values (B,).
    ``R`` comes from the buffer pool (``_workspace.py``); ``before(items)``,
    if given, runs first in the same thread (e.g. what fills xx and yrev)."""
    from . import _cpu
    from ._threads import run_lists, split_items

    B, N, M = P.shape
    g, inf, cut = _scalars(P.dtype, gamma)
    work = (hi - lo + 1).clamp_min(0).sum(1)
    plan = split_items(work.numpy(), _MIN_CELLS_PER_THREAD)
    dlo, dhi, base, total = packed_diagonals(lo, hi, M)
    buf = _workspace.take(_SKEW_R + total, P.dtype)
    R = buf[_SKEW_R:_SKEW_R + total]
    out = P.new_empty(B)
    T = _np_dtype(P.dtype)
    args = (P.numpy(), xx.numpy(), yrev.numpy(), T(alpha), T(floor), nx.numpy(), ny.numpy(),
            dlo.numpy(), dhi.numpy(), base.numpy(), g, inf, cut)

    def task(items):
        if before is not None:
            before(items)
        _cpu.sdtw_forward(*args, items, R.numpy(), out.numpy())

    run_lists(task, plan)
    ctx.plan, ctx.gamma, ctx.shape = plan, gamma, (B, N, M)
    ctx.layout = (nx, ny, dlo, dhi, base)
    # R lives on the context (not save_for_backward: it is an internal buffer),
    # and its pooled memory returns when the context is freed
    ctx.R, ctx.lease = R, _workspace.Lease(buf)
    return out


def _cpu_backward(ctx, gout, E, after=None):
    """dL/dcost into ``E`` (B, N, M) from the saved state and the values'
    gradient (B,); ``after(items)``, if given, runs next in the same thread."""
    from . import _cpu
    from ._threads import run_lists

    nx, ny, dlo, dhi, base = ctx.layout
    R = ctx.R
    g, inf, cut = _scalars(R.dtype, ctx.gamma)
    gout = gout.detach().to(R.dtype).contiguous()
    args = (R.numpy(), nx.numpy(), ny.numpy(), dlo.numpy(), dhi.numpy(), base.numpy(), g, inf, cut,
            gout.numpy())

    def task(items):
        _cpu.sdtw_backward(*args, items, E.numpy())
        if after is not None:
            after(items)

    run_lists(task, ctx.plan)
    return E


class SoftDTWKernel(torch.autograd.Function):
    """cost (B, N, M) -> R[n-1, m-1] (B,) with the Numba CPU or CUDA kernels."""

    @staticmethod
    def forward(ctx, cost, nx, ny, lo, hi, gamma, backend):
        D = cost.detach().contiguous()
        B, N, M = D.shape
        ctx.backend = backend
        if backend == "cpu":
            zx, zy = D.new_zeros((B, N)), D.new_zeros((B, M))
            return _cpu_forward(ctx, D, zx, zy, 1.0, -np.inf, nx, ny, lo, hi, gamma)
        from . import _cuda

        g, inf, cut = _scalars(D.dtype, gamma)
        R = torch.empty_like(D)
        out = D.new_empty(B)
        dlo, dhi = diag_bounds(lo, hi, N + M - 1)
        dev = D.device
        nx, ny, lo, hi, dlo, dhi = (t.to(dev) for t in (nx, ny, lo, hi, dlo, dhi))
        _cuda.forward(D, nx, ny, lo, hi, dlo, dhi, g, inf, cut, R, out)
        ctx.gamma = gamma
        ctx.save_for_backward(R, nx, ny, lo, hi, dlo, dhi)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, gout):
        if ctx.backend == "cpu":
            E = _cpu_backward(ctx, gout, gout.new_empty(ctx.shape))  # the caller's: not pooled
            return (E,) + (None,) * 6
        from . import _cuda

        R, nx, ny, lo, hi, dlo, dhi = ctx.saved_tensors
        g, inf, cut = _scalars(R.dtype, ctx.gamma)
        gout = gout.detach().to(R.dtype).contiguous()
        B, N, _ = R.shape
        E = torch.zeros_like(R)
        msg = R.new_zeros((B, 3, N, 3))
        _cuda.backward(R, nx, ny, lo, hi, dlo, dhi, g, inf, cut, gout, msg, E)
        return E, None, None, None, None, None, None


class SoftDTWSqEuclideanCPU(torch.autograd.Function):
    """x (B, N, d), y (B, M, d) -> soft-DTW values (B,) of their squared
    Euclidean cost, CPU kernels, the cost read from ``x y^T`` on the fly."""

    @staticmethod
    def forward(ctx, x, y, nx, ny, lo, hi, gamma):
        from . import _cpu_cost

        x, y = x.detach().contiguous(), y.detach().contiguous()
        B, N, M = x.shape[0], x.shape[1], y.shape[1]
        pbuf = _workspace.take(B * N * M, x.dtype)
        P = torch.bmm(x, y.transpose(1, 2), out=pbuf[:B * N * M].view(B, N, M))
        # the squared norms (y's reversed, see _cpu.sdtw_forward) in the kernels'
        # threads, item by item just before the DP, rather than in torch's
        xx = x.new_empty(x.shape[:2])
        yrev = y.new_empty(y.shape[:2])

        def norms(items):
            _cpu_cost.sq_norms(x.numpy(), False, items, xx.numpy())
            _cpu_cost.sq_norms(y.numpy(), True, items, yrev.numpy())

        out = _cpu_forward(ctx, P, xx, yrev, -2.0, 0.0, nx, ny, lo, hi, gamma, before=norms)
        del P
        _workspace.give(pbuf)
        ctx.save_for_backward(x, y)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, gout):
        return _sq_euclidean_cpu_grads(ctx, gout) + (None,) * 5


def _sq_euclidean_cpu_grads(ctx, gout):
    """(dL/dx, dL/dy) of :class:`SoftDTWSqEuclideanCPU`: the DP's backward into a
    pooled dL/dcost and, item by item in the same threads, the cost's gradient."""
    from ._sqeuclid import CostGradsCPU

    x, y = ctx.saved_tensors
    B, N, M = ctx.shape
    ebuf = _workspace.take(_SKEW_E + B * N * M, x.dtype)
    E = ebuf[_SKEW_E:_SKEW_E + B * N * M].view(B, N, M)
    grads = CostGradsCPU(x, y, E, *ctx.needs_input_grad[:2])
    _cpu_backward(ctx, gout, E, after=grads.run)
    out = grads.finish()
    del E, grads
    _workspace.give(ebuf)
    return out


def dp(cost, nx, ny, gamma, bandwidth, backend):
    """Soft-DTW values (B,) of ``cost`` (B, N, M) for checked arguments."""
    lo, hi = row_bounds(nx, ny, cost.shape[1], bandwidth)
    if backend == "reference":
        from ._reference import soft_dtw_reference

        return soft_dtw_reference(cost, nx, ny, lo, hi, gamma)
    return SoftDTWKernel.apply(cost, nx, ny, lo, hi, gamma, backend)


def dp_sq_euclidean(x, y, nx, ny, gamma, bandwidth, backend):
    """Soft-DTW values (B,) of the squared Euclidean cost of ``x``, ``y``."""
    from ._sqeuclid import SqEuclidean, sq_euclidean_autograd

    if backend == "cpu":
        lo, hi = row_bounds(nx, ny, x.shape[1], bandwidth)
        return SoftDTWSqEuclideanCPU.apply(x, y, nx, ny, lo, hi, gamma)
    cost = sq_euclidean_autograd(x, y) if backend == "reference" else SqEuclidean.apply(x, y)
    return dp(cost, nx, ny, gamma, bandwidth, backend)
