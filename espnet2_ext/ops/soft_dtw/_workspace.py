"""Reusable CPU scratch buffers of the soft-DTW kernels.

A fresh multi-megabyte tensor costs its page faults on first touch (about
2 ms per 6 MB here, as much as the DP itself), and glibc returns freed
memory of that size to the OS, so every call would pay them again.  The
CPU path therefore takes its scratch from this pool: the packed DP table
``R`` (B x N x M cells, kept from the forward to the backward, given back
when the autograd context that holds it is freed, see :class:`Lease`) and
the backward's per-thread vector of one item's ``dL/dD``.  Tensors handed
to the caller (values, gradients) are never pooled.

At most ``_MAX_FREE_BYTES`` of free buffers are kept (the smallest go
first); a request larger than that is served fresh and not kept.
"""

import os
import threading

import torch

_MAX_FREE_BYTES = 512 << 20

_free = []  # 1-D tensors not in use
_lock = threading.Lock()


def _reset_after_fork():
    global _lock
    _lock = threading.Lock()
    _free.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _nbytes(t):
    return t.numel() * t.element_size()


def take(numel, dtype):
    """A 1-D CPU tensor of at least ``numel`` elements (contents undefined);
    the caller slices ``[:numel]`` and hands the whole tensor back with :func:`give`."""
    with _lock:
        fits = [k for k, t in enumerate(_free) if t.dtype == dtype and t.numel() >= numel]
        if fits:  # the smallest that fits (list.remove would compare tensors by value)
            return _free.pop(min(fits, key=lambda k: _free[k].numel()))
    return torch.empty(max(int(numel), 1), dtype=dtype)


def give(buf):
    """Return a buffer from :func:`take` (no view of it may be used afterwards)."""
    if _nbytes(buf) > _MAX_FREE_BYTES:
        return
    with _lock:
        _free.append(buf)
        _free.sort(key=_nbytes)
        while sum(_nbytes(t) for t in _free) > _MAX_FREE_BYTES:
            _free.pop(0)


def clear():
    """Drop every free buffer (their memory goes back to the allocator)."""
    with _lock:
        _free.clear()


class Lease:
    """Holds a pooled buffer for an object's lifetime (an autograd context):
    the buffer goes back to the pool when the holder is freed, so a graph kept
    for a second backward (``retain_graph=True``) keeps its buffer."""

    __slots__ = ("buf",)

    def __init__(self, buf):
        self.buf = buf

    def __del__(self):
        try:
            give(self.buf)
        except Exception:  # interpreter shutdown: nothing to give back to
            pass
