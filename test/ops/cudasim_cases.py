"""CUDA-kernel cases, run on the Numba CUDA simulator in a child process.

Not collected directly (the file name does not match ``test_*.py``):
``test_soft_dtw_cudasim.py`` runs ``python -m pytest`` on this file with
``NUMBA_ENABLE_CUDASIM=1`` set before anything imports ``numba.cuda``.
Sizes are small (the simulator runs every thread as a Python thread) but the
diagonals are longer than the simulated block (4 threads), so the strided
loops are exercised.
"""

import os
import sys
import types
from pathlib import Path

import pytest
import torch

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":  # pragma: no cover
    pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 (run via test_soft_dtw_cudasim.py)",
                allow_module_level=True)

# The operator must not need ESPnet: load ``espnet2_ext.ops`` without running
# ``espnet2_ext/__init__.py`` (which registers the ESPnet plugins and is slow
# to import), and check below that nothing pulled ESPnet in.
if "espnet2_ext" not in sys.modules:
    _pkg = types.ModuleType("espnet2_ext")
    _pkg.__path__ = [str(Path(__file__).resolve().parents[2] / "espnet2_ext")]
    sys.modules["espnet2_ext"] = _pkg

from _sdtw_util import make_batch, rel_err, value_and_grads  # noqa: E402
from espnet2_ext.ops.soft_dtw import soft_dtw, soft_dtw_from_cost  # noqa: E402

F64, F32 = torch.float64, torch.float32


def test_simulator_is_active():
    from numba import config, cuda

    assert config.ENABLE_CUDASIM
    from espnet2_ext.ops.soft_dtw import _cuda

    assert _cuda.simulator_active() and _cuda._block_size(1000) == 4
    assert cuda.simulator_enabled if hasattr(cuda, "simulator_enabled") else True


def test_operator_does_not_import_espnet():
    soft_dtw(torch.randn(1, 3, 2, dtype=F64), torch.randn(1, 2, 2, dtype=F64), backend="cuda")
    assert not [m for m in sys.modules if m == "espnet2" or m.startswith("espnet2.")]


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("bandwidth", [None, 1.0])
def test_cuda_kernels_match_reference(dtype, bandwidth):
    x, y, xl, yl = make_batch(3, 9, 7, 3, seed=1, scale=1.0)
    xl[1], yl[2] = 1, 4
    kw = dict(x_lengths=xl, y_lengths=yl, gamma=0.1, bandwidth=bandwidth)
    ref = value_and_grads(soft_dtw, x, y, backend="reference", **kw)
    got = value_and_grads(soft_dtw, x.to(dtype), y.to(dtype), backend="cuda", **kw)
    tol = (1e-8, 1e-8) if dtype == F64 else (2e-5, 2e-3)
    for k, (a, b) in enumerate(zip(got, ref)):
        assert a.dtype == dtype and torch.isfinite(a).all()
        assert rel_err(a, b) <= tol[min(k, 1)], (k, rel_err(a, b))
    for b in range(3):  # padded frames: exactly zero gradient
        assert torch.count_nonzero(got[1][b, xl[b]:]) == 0
        assert torch.count_nonzero(got[2][b, yl[b]:]) == 0


def test_cuda_kernels_edge_shapes_divergence_and_tiny_gamma():
    for N, M in [(1, 1), (1, 5), (6, 1), (12, 2)]:
        x, y, xl, yl = make_batch(2, N, M, 2, seed=N + 10 * M)
        kw = dict(x_lengths=xl, y_lengths=yl, gamma=0.001, bandwidth=0.5, normalize=True)
        ref = value_and_grads(soft_dtw, x, y, backend="reference", **kw)
        got = value_and_grads(soft_dtw, x, y, backend="cuda", **kw)
        for a, b in zip(got, ref):
            assert rel_err(a, b) <= 1e-8, (N, M)


def test_cuda_from_cost_matches_cpu():
    g = torch.Generator().manual_seed(3)
    cost = torch.rand(2, 8, 5, generator=g, dtype=F64)
    xl, yl = torch.tensor([8, 3]), torch.tensor([5, 5])
    outs = []
    for backend in ("cpu", "cuda"):
        c = cost.clone().requires_grad_(True)
        v = soft_dtw_from_cost(c, xl, yl, gamma=0.2, bandwidth=2, backend=backend)
        outs.append((v, torch.autograd.grad(v.sum(), [c])[0]))
    assert rel_err(outs[1][0], outs[0][0]) <= 1e-12
    assert rel_err(outs[1][1], outs[0][1]) <= 1e-12


def test_cpu_and_cuda_kernels_share_one_cell():
    """The DP cell is written once (``_cell.py``) and compiled for both targets."""
    from espnet2_ext.ops.soft_dtw import _cpu, _cuda

    def code(f):
        return getattr(f, "py_func", getattr(f, "fn", None)).__code__

    assert code(_cpu.softmin_terms) is code(_cuda._softmin_terms)
    assert code(_cpu.softmin_terms).co_filename.endswith("_cell.py")
