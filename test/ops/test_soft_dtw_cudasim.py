"""Runs the CUDA kernels on the Numba CUDA simulator, in a child process.

``NUMBA_ENABLE_CUDASIM`` must be set before ``numba.cuda`` is imported, so the
cases (``cudasim_cases.py``) run under a separate ``python -m pytest`` and the
variable never reaches this process.
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def test_cuda_kernels_on_simulator():
    env = dict(os.environ)
    env["NUMBA_ENABLE_CUDASIM"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         str(HERE / "cudasim_cases.py")],
        cwd=str(REPO), env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-2000:]
    assert "NUMBA_ENABLE_CUDASIM" not in os.environ
