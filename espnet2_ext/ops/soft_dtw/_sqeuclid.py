"""Squared Euclidean frame cost (B, N, M) of x (B, N, d), y (B, M, d), and its gradient.

``D[i, j] = max(|x_i|^2 + |y_j|^2 - 2 x_i . y_j, 0)``: one batched matrix
product, memory O(B N M), never O(B N M d).  With ``G = dL/dD``:
``dL/dx = 2 (x * rowsum(G) - G y)``, ``dL/dy = 2 (y * colsum(G) - G^T x)``.
The clamp only guards against rounding below zero (the distance of a frame
to itself); its gradient is taken as the distance's own, which is 0 there up
to that rounding.  A frame whose row (column) of ``G`` is all zero, i.e. a
padded frame, gets an exactly zero gradient.

``cost_grads(x, y, G)`` for a row-major ``G``: on CPU, for every item
whose rows' nonzero runs of ``G`` cover at most ``_SPAN_FRACTION`` of its
cells (the usual case: the soft-min leaves exact zeros away from the
alignment), the sums run over those runs only (``_cpu_cost.span_grad``);
otherwise, and on CUDA, two dense matrix products.  ``SqEuclidean`` is the
cost as a Function (used on CUDA; the CPU soft-DTW computes the cost inside
its own kernels and takes the gradient from its packed ``G`` directly,
``_function.SoftDTWSqEuclideanCPU``).
"""

import torch
from torch.autograd.function import once_differentiable

# the row-run kernel is used while the runs cover at most this fraction of G
# (per cell it costs about what the dense products cost)
_SPAN_FRACTION = 0.5

# below this many multiply-adds per thread, fewer threads
_MIN_WORK_PER_THREAD = 1 << 22


def sq_euclidean_autograd(x, y):
    """The same cost with torch's own autograd (the reference backend's cost,
    which the tests hold the fused version to)."""
    x2 = (x * x).sum(-1).unsqueeze(-1)
    y2 = (y * y).sum(-1).unsqueeze(-2)
    return torch.relu(torch.baddbmm(x2 + y2, x, y.transpose(1, 2), alpha=-2.0))


def _dense_grads(x, y, G, want_x, want_y):
    gx = gy = None
    if want_x:
        gx = torch.baddbmm(x * G.sum(2, keepdim=True), G, y, beta=2.0, alpha=-2.0)
    if want_y:
        gy = torch.baddbmm(y * G.sum(1).unsqueeze(-1), G.transpose(1, 2), x, beta=2.0, alpha=-2.0)
    return gx, gy


class CostGradsCPU:
    """The CPU cost gradient of one call, computed item list by item list.

    ``run(items)`` (any thread; the lists must not overlap) finds the nonzero
    runs of the items' rows of ``G`` and, for every item whose runs cover at
    most ``_SPAN_FRACTION`` of its cells, sums over them (``_cpu_cost.py``);
    ``finish()`` (one thread, after every ``run``) does the other items with
    the dense products and returns ``(gx, gy)``."""

    def __init__(self, x, y, G, want_x, want_y):
        self.x, self.y, self.G = x.contiguous(), y.contiguous(), G
        self.want_x, self.want_y = bool(want_x), bool(want_y)
        B, N, M = G.shape
        self.first = torch.empty((B, N), dtype=torch.int64)
        self.last = torch.empty((B, N), dtype=torch.int64)
        self.gx = torch.empty_like(self.x) if want_x else x.new_empty((1, 1, 1))
        self.gy = torch.empty_like(self.y) if want_y else y.new_empty((1, 1, 1))
        self.dense = []  # items left to finish(); list.append is atomic

    def run(self, items):
        from . import _cpu_cost

        G, first, last = self.G.numpy(), self.first.numpy(), self.last.numpy()
        _cpu_cost.nonzero_spans(G, items, first, last)
        cells = (last[items] - first[items] + 1).clip(min=0).sum(1)
        narrow = cells <= _SPAN_FRACTION * G.shape[1] * G.shape[2]
        self.dense.extend(int(b) for b in items[~narrow])
        if narrow.any():
            _cpu_cost.span_grad(self.x.numpy(), self.y.numpy(), G, first, last, self.want_x, self.want_y,
                                items[narrow], self.gx.numpy(), self.gy.numpy())

    def finish(self):
        if self.dense:
            idx = torch.tensor(sorted(self.dense))
            gx, gy = _dense_grads(self.x[idx], self.y[idx], self.G[idx], self.want_x, self.want_y)
            if self.want_x:
                self.gx[idx] = gx
            if self.want_y:
                self.gy[idx] = gy
        return (self.gx if self.want_x else None), (self.gy if self.want_y else None)


def cost_grads(x, y, G, want_x, want_y):
    """dL/dx, dL/dy (None where not wanted) from ``G = dL/dD`` (B, N, M).

    CPU: :class:`CostGradsCPU` over the batch; CUDA: the dense products."""
    if G.device.type != "cpu":
        return _dense_grads(x, y, G, want_x, want_y)
    from ._threads import run_lists, split_items

    B, N, M = G.shape
    grads = CostGradsCPU(x, y, G, want_x, want_y)
    run_lists(grads.run, split_items([N * M * x.shape[-1]] * B, _MIN_WORK_PER_THREAD))
    return grads.finish()


class SqEuclidean(torch.autograd.Function):
    """x (B, N, d), y (B, M, d) -> D (B, N, M); see the module docstring."""

    @staticmethod
    def forward(ctx, x, y):
        x2 = (x * x).sum(-1).unsqueeze(-1)
        y2 = (y * y).sum(-1).unsqueeze(-2)
        D = torch.baddbmm(y2, x, y.transpose(1, 2), alpha=-2.0).add_(x2).clamp_min_(0.0)
        ctx.save_for_backward(x, y)
        return D

    @staticmethod
    @once_differentiable
    def backward(ctx, G):
        x, y = ctx.saved_tensors
        return cost_grads(x.detach(), y.detach(), G.contiguous(), *ctx.needs_input_grad[:2])
