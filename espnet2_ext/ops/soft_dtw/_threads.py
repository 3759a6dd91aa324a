"""CPU threading of the Numba kernels: the batch cut into chunks of items, run by a few threads.

Every CPU kernel takes the batch items it should handle and releases the GIL
(``nogil=True``); chunks of items (longest first) are pulled by the Python
threads of a process-local pool while the calling thread waits.  This was
preferred to ``prange``: no spinning OpenMP barrier to fight torch's own
OpenMP threads on a loaded machine, and a much cheaper compilation.  Small
batches run on one pool thread.

The pool's threads flush denormals to zero (``torch.set_flush_denormal``,
which sets the FTZ/DAZ bits of the thread's own floating-point control
register).  Far from the alignment the backward's ``dL/dD`` decays through
the float32 denormal range before it reaches exact zero; on Intel CPUs every
operation on a denormal costs about a hundred cycles, which made the
forward+backward 3x slower there (B 16, 300 x 300, d 256: 64 ms against 21 ms
on one thread), and the nonzero runs of the cost gradient wider.  Values
below 1.2e-38 change no result that float32 can hold.  The caller's thread is
left as it is (the setting is per thread, and the caller's other computations
are not ours to change); that is why it does not run chunks itself.

Thread count: ``NUMBA_NUM_THREADS`` if set, else ``torch.get_num_threads()``.
"""

import os
import threading

import numpy as np
import torch

_POOL = None
_POOL_KEY = None


def n_threads() -> int:
    env = os.environ.get("NUMBA_NUM_THREADS")
    return max(1, int(env) if env else torch.get_num_threads())


def _pool(n):
    """Process-local thread pool (re-created after fork, e.g. in DataLoader workers)."""
    global _POOL, _POOL_KEY

    key = (os.getpid(), n)
    if _POOL is None or _POOL_KEY[0] != key[0] or _POOL_KEY[1] < n:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="soft_dtw",
                                   initializer=torch.set_flush_denormal, initargs=(True,))
        _POOL_KEY = key
    return _POOL


class Plan:
    """How a batch is run: ``chunks`` of items (int64 arrays, the largest work
    first) pulled one by one by ``threads`` threads."""

    __slots__ = ("chunks", "threads")

    def __init__(self, chunks, threads):
        self.chunks, self.threads = chunks, threads


# a thread's share is cut into about this many chunks, each of at least
# _MIN_CHUNK_WORK cells (a kernel call costs about 2 us; a DP cell ~2 ns): on a
# busy machine the threads wait at the end for the chunk that a descheduled
# thread holds, so the smaller the chunks, the shorter that wait
_CHUNKS_PER_THREAD = 16
_MIN_CHUNK_WORK = 1 << 13


def split_items(work, min_work_per_thread):
    """Plan for the batch items with ``work`` (B,): as many threads as
    ``n_threads()`` allows with at least ``min_work_per_thread`` each (one
    thread, one chunk for a small batch), items longest first in chunks of
    about ``1 / _CHUNKS_PER_THREAD`` of a thread's share (single items for
    the usual batches of long sequences).  Threads pull the
    chunks as they go (dynamic scheduling): on a busy machine a thread that
    starts late or shares its core does less, instead of holding the others
    up at the end."""
    work = np.asarray(work, dtype=np.int64)
    total = int(work.sum())
    n = max(1, min(n_threads(), len(work), total // max(1, min_work_per_thread)))
    if n == 1:
        return Plan([np.arange(len(work), dtype=np.int64)], 1)
    order = np.argsort(-work, kind="stable")
    target = max(total / (n * _CHUNKS_PER_THREAD), _MIN_CHUNK_WORK)
    chunks, cur, acc = [], [], 0
    for b in order:
        cur.append(b)
        acc += int(work[b])
        if acc >= target:
            chunks.append(np.asarray(sorted(cur), dtype=np.int64))
            cur, acc = [], 0
    if cur:
        chunks.append(np.asarray(sorted(cur), dtype=np.int64))
    return Plan(chunks, min(n, len(chunks)))


def run_lists(task, plan):
    """task(chunk) for every chunk of ``plan``, on ``plan.threads`` threads of
    the pool (denormals flushed, see the module docstring); the caller waits
    and gets the first exception a task raised.  One task may chain several
    kernels, so that the threads meet once, not once per kernel."""
    lock = threading.Lock()
    todo = iter(plan.chunks)

    def worker():
        while True:
            with lock:
                chunk = next(todo, None)
            if chunk is None:
                return
            task(chunk)

    futs = [_pool(plan.threads).submit(worker) for _ in range(plan.threads)]
    for f in futs:
        f.result()
