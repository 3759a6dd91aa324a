"""bench/gpu_check.sh in its quick mode: on a machine without a GPU it must
skip every GPU part with a message and still produce its CPU-side outputs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]


def test_gpu_check_script_quick_mode(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, PYTHON=sys.executable, GPU_CHECK_QUICK="1")
    env.pop("OUT", None)
    proc = subprocess.run(["bash", str(REPO / "bench" / "gpu_check.sh"), str(out)], cwd=str(tmp_path),
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = (out / "summary.txt").read_text()
    # what the device tool brings back: at most 8 plain files, no folders
    files = sorted(p.name for p in out.iterdir())
    assert all((out / f).is_file() for f in files) and len(files) <= 8, files
    assert {"summary.txt", "env.txt", "cases.md", "cases.json", "bench.md", "bench.json"} <= set(files)
    assert "step cases: rc=0" in summary and "step bench: rc=0" in summary, summary
    cases = json.loads((out / "cases.json").read_text())
    assert cases["rows"] and all(r["ok"] for r in cases["rows"]), cases
    bench = json.loads((out / "bench.json").read_text())
    ours = [r for r in bench["rows"] if r["impl"] == "ours"]
    assert ours and all(r["median_ms"] > 0 for r in ours)
    if not torch.cuda.is_available():
        assert "no CUDA device" in summary and "SKIPPED" in summary
        assert "step ssl_step: SKIPPED" in summary and "step ncu: SKIPPED" in summary
        assert not cases["gpu"] and {r["backend"] for r in cases["rows"]} == {"cpu"}
        assert {r["device"] for r in bench["rows"]} == {"cpu"}
    assert "GPU" in (out / "env.txt").read_text() or "nvidia-smi" in (out / "env.txt").read_text()
