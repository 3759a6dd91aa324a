"""The CPU kernels' threading (``_threads``): how a batch is cut, that every
chunk runs once, errors reach the caller, and the floating-point mode of the
kernels' threads (denormals flushed there, the caller's thread untouched)."""

import platform
import threading

import numpy as np
import pytest
import torch

from espnet2_ext.ops.soft_dtw import _threads, soft_dtw

X86 = platform.machine().lower() in ("x86_64", "amd64")


def _underflows_to_zero():
    """True when float32 1e-30 * 1e-10 (a denormal, 1e-40) comes out as 0 in this thread."""
    return float(np.float32(1e-30) * np.float32(1e-10)) == 0.0


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_every_chunk_runs_once_longest_first(monkeypatch, threads):
    monkeypatch.setenv("NUMBA_NUM_THREADS", threads)
    work = np.array([5, 1 << 20, 3, 1 << 19, 7] * 4, dtype=np.int64)
    plan = _threads.split_items(work, 1)
    assert plan.threads == min(int(threads), len(plan.chunks))
    items = np.concatenate(plan.chunks)
    assert sorted(items.tolist()) == list(range(len(work)))
    assert work[plan.chunks[0]].max() == work.max()

    seen, lock = [], threading.Lock()

    def task(chunk):
        with lock:
            seen.extend(chunk.tolist())

    _threads.run_lists(task, plan)
    assert sorted(seen) == list(range(len(work)))


@pytest.mark.parametrize("threads", ["1", "2"])
def test_a_task_error_reaches_the_caller(monkeypatch, threads):
    monkeypatch.setenv("NUMBA_NUM_THREADS", threads)
    plan = _threads.split_items(np.full(8, 1 << 20), 1)

    def task(chunk):
        raise ValueError(f"chunk {chunk.tolist()} failed")

    with pytest.raises(ValueError, match="failed"):
        _threads.run_lists(task, plan)


@pytest.mark.skipif(not X86, reason="FTZ/DAZ are x86 control bits (torch.set_flush_denormal)")
@pytest.mark.parametrize("threads", ["1", "2"])
def test_kernel_threads_flush_denormals_and_the_callers_thread_is_left_alone(monkeypatch, threads):
    monkeypatch.setenv("NUMBA_NUM_THREADS", threads)
    assert not _underflows_to_zero(), "precondition: this thread keeps denormals"
    plan = _threads.split_items(np.full(8, 1 << 20), 1)
    flushed, lock = [], threading.Lock()

    def task(chunk):
        with lock:
            flushed.append(_underflows_to_zero())

    _threads.run_lists(task, plan)
    assert flushed and all(flushed)
    assert not _underflows_to_zero()  # the caller's mode did not change


def test_values_and_gradients_do_not_depend_on_the_thread_count(monkeypatch):
    g = torch.Generator().manual_seed(3)
    x = torch.nn.functional.normalize(torch.randn(8, 200, 16, generator=g), dim=-1)  # 288k cells: 2 threads
    y = torch.nn.functional.normalize(torch.randn(8, 180, 16, generator=g), dim=-1)
    results = []
    for threads in ("1", "2"):
        monkeypatch.setenv("NUMBA_NUM_THREADS", threads)
        xx, yy = x.clone().requires_grad_(), y.clone().requires_grad_()
        v = soft_dtw(xx, yy, gamma=0.1)
        v.sum().backward()
        results.append((v.detach(), xx.grad, yy.grad))
    for a, b in zip(*results):
        assert torch.equal(a, b)
