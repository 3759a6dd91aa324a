"""The soft-DTW DP as autograd Functions, and the backend dispatch.

``dp(cost (B, N, M), nx, ny, gamma, bandwidth, backend) -> (B,)``: the value
``R[nx - 1, ny - 1]`` of every item, differentiable in ``cost``.

``dp_sq_euclidean(x (B, N, d), y (B, M, d), ...) -> (B,)``: the same with
the squared Euclidean cost of ``x`` and ``y``.  On CPU one Function does
both: the forward kernel computes each item's cost straight into the DP's
table right before its DP (``_cpu_cost.sq_cost_fill``; the cost matrix is
never materialised, and no torch matrix product runs), and the backward
turns the DP's gradient into those of ``x`` and ``y`` item by item
(``_cpu_cost.span_grad_item``).  On CUDA the cost is a separate Function
(``_sqeuclid.SqEuclidean``) feeding ``dp``; ``"reference"`` is the
plain-PyTorch DP with torch's autograd.

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


def _cpu_forward(ctx, kernel, inputs, nx, ny, lo, hi, gamma, shape, dtype):
    """Run the CPU forward ``kernel`` (``_cpu.sdtw_forward`` on a cost
    matrix, ``_cpu.sdtw_forward_sq`` on x and y: ``inputs``) over the batch
    and keep on ``ctx`` what the backward needs.  Returns the values (B,).
    ``R`` comes from the buffer pool (``_workspace.py``)."""
    from ._threads import run_lists, split_items

    B, N, M = shape
    g, inf, cut = _scalars(dtype, gamma)
    work = np.maximum(hi.numpy() - lo.numpy() + 1, 0).sum(1)  # NumPy: no OpenMP region
    plan = split_items(work, _MIN_CELLS_PER_THREAD)
    dlo, dhi, base, total = packed_diagonals(lo, hi, M)
    buf = _workspace.take(total, dtype)
    R = buf[:total]
    out = torch.empty(B, dtype=dtype)
    args = tuple(t.numpy() for t in inputs) + tuple(
        t.numpy() for t in (lo, hi, nx, ny, dlo, dhi, base)) + (g, inf, cut)
    Rn, outn = R.numpy(), out.numpy()
    run_lists(lambda items: kernel(*args, items, Rn, outn), plan)
    ctx.plan, ctx.gamma, ctx.shape = plan, gamma, (B, N, M)
    ctx.layout = (nx, ny, dlo, dhi, base)
    # R lives on the context (not save_for_backward: it is an internal buffer),
    # and its pooled memory returns when the context is freed
    ctx.R, ctx.lease = R, _workspace.Lease(buf)
    return out


def _cpu_backward(ctx, gout, kernel, inputs=(), flags=(), outputs=()):
    """Run the CPU backward ``kernel`` (``_cpu.sdtw_backward`` into dL/dcost,
    ``_cpu.sdtw_backward_sq`` into dL/dx, dL/dy: ``outputs``; ``inputs`` and
    ``flags`` its arguments after R and after gout) over the batch
    from the saved state and the values' gradient (B,).  Each thread's
    items go through one pooled scratch vector (dL/dD of one item)."""
    from ._threads import run_lists

    nx, ny, dlo, dhi, base = ctx.layout
    R = ctx.R
    B, N, M = ctx.shape
    g, inf, cut = _scalars(R.dtype, ctx.gamma)
    gout = gout.detach().to(R.dtype).contiguous()
    bn = base.numpy()
    ends = bn[np.arange(B), nx.numpy() + ny.numpy() - 1] + 3  # end of each item's slots
    scratch = int((ends - bn[:, 0]).max())
    first = np.empty((B, N), dtype=np.int64)
    last = np.empty((B, N), dtype=np.int64)
    args = ((R.numpy(),) + inputs + tuple(t.numpy() for t in (nx, ny, dlo, dhi, base))
            + (g, inf, cut, gout.numpy()) + flags)
    outs = (first, last) + outputs

    def task(items):
        sbuf = _workspace.take(scratch, R.dtype)
        kernel(*args, items, sbuf.numpy(), *outs)
        _workspace.give(sbuf)

    run_lists(task, ctx.plan)


class SoftDTWKernel(torch.autograd.Function):
    """cost (B, N, M) -> R[n-1, m-1] (B,) with the Numba CPU or CUDA kernels."""

    @staticmethod
    def forward(ctx, cost, nx, ny, lo, hi, gamma, backend):
        D = cost.detach().contiguous()
        B, N, M = D.shape
        ctx.backend = backend
        if backend == "cpu":
            from ._cpu import sdtw_forward

            return _cpu_forward(ctx, sdtw_forward, (D,), nx, ny, lo, hi, gamma, D.shape, D.dtype)
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
            from ._cpu import sdtw_backward

            E = torch.empty(ctx.shape, dtype=ctx.R.dtype)  # the caller's: not pooled
            _cpu_backward(ctx, gout, sdtw_backward, outputs=(E.numpy(),))
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
    Euclidean cost, CPU kernels: each item's cost is computed in the kernels'
    threads right before its DP, into the DP's own table (``_cpu_cost.py``),
    and the backward sums the cost's gradient over the DP gradient's nonzero
    runs."""

    @staticmethod
    def forward(ctx, x, y, nx, ny, lo, hi, gamma):
        from ._cpu import sdtw_forward_sq

        # a self term (x with itself, same lengths): symmetric cost, table and
        # gradient, so the backward takes d/dx once and doubles it
        ctx.symmetric = x is y and torch.equal(nx, ny)
        x, y = x.detach().contiguous(), y.detach().contiguous()
        shape = (x.shape[0], x.shape[1], y.shape[1])
        out = _cpu_forward(ctx, sdtw_forward_sq, (x, y), nx, ny, lo, hi, gamma, shape, x.dtype)
        ctx.save_for_backward(x, y)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, gout):
        from ._cpu import sdtw_backward_sq

        x, y = ctx.saved_tensors
        want_x, want_y = ctx.needs_input_grad[:2]
        if ctx.symmetric and want_x:  # d/dx + d/dy = 2 d/dx: the backward is linear in gout
            gout, want_y = gout * 2, False
        gx = torch.empty_like(x) if want_x else x.new_empty((1, 1, 1))
        gy = torch.empty_like(y) if want_y else y.new_empty((1, 1, 1))
        _cpu_backward(ctx, gout, sdtw_backward_sq, (x.numpy(), y.numpy()), (want_x, want_y),
                      (gx.numpy(), gy.numpy()))
        return (gx if want_x else None), (gy if want_y else None), None, None, None, None, None


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
