"""Numba CUDA kernels: anti-diagonal wavefront, one launch per pass.

One block per batch item; the block walks the anti-diagonals ``k = i + j`` of
its item in order, its threads striding over the band cells of the current
diagonal (any length: no limit from the block size or shared memory), with
``cuda.syncthreads()`` between diagonals.  R and the gradient live in global
memory with the (B, N, M) layout.  Per-item lengths and the band come as
integer bounds computed on the host (see ``_band.py``); cells outside the band
are never visited.

Backward ("pull" with messages): processing diagonal k from the end, each cell
sums the messages its (already finished) successors left for it, stores that
as dL/dD, then recomputes the probabilities of its own forward soft-min from
the stored predecessors (same arithmetic as the forward) and leaves
``E * p`` for each predecessor in a 3-diagonal ring buffer ``msg``
(B, 3, N, 3).  No atomics, no ``exp((R' - R - D) / gamma)``.

This module imports ``numba.cuda``; set ``NUMBA_ENABLE_CUDASIM=1`` before
importing it to run the kernels on the simulator (NumPy arrays).
"""

import math

from numba import config, cuda

from ._cell import make_cell

# one block per batch item is intended: silence the low-occupancy warning
config.CUDA_LOW_OCCUPANCY_WARNINGS = 0


def _inlined_device_function():
    """Decorator of a device function inlined by NVVM, in the spelling of the
    installed CUDA target: the numba-cuda package names it ``forceinline``
    (its ``inline`` is Numba-IR inlining, "always"/"never"); the CUDA target
    bundled with numba names it ``inline=True``."""
    import inspect

    if "forceinline" in inspect.signature(cuda.jit).parameters:
        return cuda.jit(device=True, forceinline=True)
    return cuda.jit(device=True, inline=True)


_device = _inlined_device_function()


@_device
def _exp_neg(t, cut):
    """exp(t) for -cut < t <= 0, exactly 0 from -cut down (the cell's rule, ``_cell.py``)."""
    if t > -cut:
        return math.exp(t)
    return cut - cut


_softmin_terms = make_cell(_device, _exp_neg)


@_device
def _predecessors(R, lo, hi, b, i, j, inf):
    """(up, left, dg) of cell (i, j) of item b, +inf outside the grid or band
    (the caller sets R[-1, -1] = 0 for the cell (0, 0))."""
    left = R[b, i, j - 1] if j - 1 >= lo[b, i] else inf
    if i == 0:
        return inf, left, inf
    plo = lo[b, i - 1]
    phi = hi[b, i - 1]
    up = R[b, i - 1, j] if (j >= plo and j <= phi) else inf
    dg = R[b, i - 1, j - 1] if (j - 1 >= plo and j - 1 <= phi) else inf
    return up, left, dg


@cuda.jit
def _forward_kernel(D, nx, ny, lo, hi, dlo, dhi, gamma, inf, cut, R, out):
    b = cuda.blockIdx.x
    t = cuda.threadIdx.x
    nt = cuda.blockDim.x
    n = nx[b]
    m = ny[b]
    inv = (gamma / gamma) / gamma
    for k in range(n + m - 1):
        i = dlo[b, k] + t
        i_end = dhi[b, k]
        while i <= i_end:
            j = k - i
            up, left, dg = _predecessors(R, lo, hi, b, i, j, inf)
            if i == 0 and j == 0:
                dg = gamma - gamma  # R[-1, -1] = 0
            mn, eu, el, ed = _softmin_terms(up, left, dg, inv, cut)
            R[b, i, j] = D[b, i, j] + (mn - gamma * math.log(eu + el + ed))
            i += nt
        cuda.syncthreads()
    if t == 0:
        out[b] = R[b, n - 1, m - 1]


@cuda.jit
def _backward_kernel(R, nx, ny, lo, hi, dlo, dhi, gamma, inf, cut, gout, msg, E):
    b = cuda.blockIdx.x
    t = cuda.threadIdx.x
    nt = cuda.blockDim.x
    n = nx[b]
    m = ny[b]
    zero = gamma - gamma
    inv = (gamma / gamma) / gamma
    for k in range(n + m - 2, -1, -1):
        s0 = k % 3
        s1 = (k + 1) % 3
        s2 = (k + 2) % 3
        i = dlo[b, k] + t
        i_end = dhi[b, k]
        while i <= i_end:
            j = k - i
            if i == n - 1 and j == m - 1:
                e = gout[b]
            else:
                e = zero
            if j + 1 <= hi[b, i]:  # successor (i, j+1), we are its "left"
                e += msg[b, s1, i, 1]
            if i + 1 < n:
                nlo = lo[b, i + 1]
                nhi = hi[b, i + 1]
                if j >= nlo and j <= nhi:  # successor (i+1, j), we are its "up"
                    e += msg[b, s1, i + 1, 0]
                if j + 1 >= nlo and j + 1 <= nhi:  # successor (i+1, j+1), "diag"
                    e += msg[b, s2, i + 1, 2]
            E[b, i, j] = e
            # soft-min probabilities of this cell's forward step
            up, left, dg = _predecessors(R, lo, hi, b, i, j, inf)
            if i == 0 and j == 0:
                dg = zero
            mn, eu, el, ed = _softmin_terms(up, left, dg, inv, cut)
            w = e / (eu + el + ed)
            msg[b, s0, i, 0] = w * eu
            msg[b, s0, i, 1] = w * el
            msg[b, s0, i, 2] = w * ed
            i += nt
        cuda.syncthreads()


def simulator_active() -> bool:
    return bool(config.ENABLE_CUDASIM)


def _block_size(n_rows: int) -> int:
    if simulator_active():
        return 4  # every simulated thread is a Python thread
    t = 32
    while t < n_rows and t < 512:
        t *= 2
    return t


def _view(t):
    """Zero-copy view of a torch tensor for numba (NumPy on the simulator)."""
    if t.is_cuda:
        return cuda.as_cuda_array(t.detach())
    return t.detach().numpy()


def _launch(kernel, B, n_rows, device, args):
    threads = _block_size(n_rows)
    if device.type == "cuda":
        import torch

        stream = cuda.external_stream(torch.cuda.current_stream(device).cuda_stream)
        with cuda.gpus[device.index if device.index is not None else 0]:
            kernel[B, threads, stream](*[_view(a) if hasattr(a, "is_cuda") else a for a in args])
    else:
        kernel[B, threads](*[_view(a) if hasattr(a, "is_cuda") else a for a in args])


def forward(D, nx, ny, lo, hi, dlo, dhi, gamma, inf, cut, R, out):
    _launch(_forward_kernel, D.shape[0], min(D.shape[1], D.shape[2]), D.device,
            (D, nx, ny, lo, hi, dlo, dhi, gamma, inf, cut, R, out))


def backward(R, nx, ny, lo, hi, dlo, dhi, gamma, inf, cut, gout, msg, E):
    _launch(_backward_kernel, R.shape[0], min(R.shape[1], R.shape[2]), R.device,
            (R, nx, ny, lo, hi, dlo, dhi, gamma, inf, cut, gout, msg, E))
