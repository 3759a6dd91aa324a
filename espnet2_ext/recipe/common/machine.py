"""The numeric environment of a process, in one line, and reading it back.

A model's weights, and every score after it, depend on how the training's
floating-point sums were rounded, not only on its seed, data and config:
the CPU model, the vector instruction set torch's kernels were dispatched to,
the BLAS, and the variables that pin MKL's and oneDNN's code paths.  The
mini_an4 recipes show it: the same command gave base models whose
pocketsphinx WER was 72.7, 77.3 and 68.2 % on two machines and one setting
of ``MKL_CBWR`` (their READMEs, "second machine").  So every ESPnet run of the
recipes writes :func:`describe` into its log header (``espnet_runs``), and the
report says which environments its models were trained in
(:func:`environments_of`), so that results from different machines are not
compared as if only the seed had changed.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Iterable, List

PREFIX = "# Numeric environment: "
# the variables that select numeric code paths or the thread count
_VARIABLES = ("MKL_CBWR", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# a log header is short; the line is looked for in its first lines only
_HEADER_LINES = 10


def cpu_model() -> str:
    """The CPU's model name with its vendor, family and model numbers when
    ``/proc/cpuinfo`` has them (a VM's name can be as vague as "Intel Xeon
    Processor"); else what ``platform`` knows."""
    info = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), " ".join(value.split()))
    except OSError:
        pass
    name = info.get("model name") or info.get("Model") or info.get("cpu model")
    if not name:
        return platform.processor() or platform.machine() or "unknown CPU"
    ids = [info[k] for k in ("vendor_id", "cpu family", "model") if info.get(k)]
    return f"{name} [{' '.join(ids)}]" if len(ids) == 3 else name


def describe() -> str:
    """One line: CPU model and count, torch's version, vector ISA, BLAS and
    oneDNN, CUDA devices if any, and the path-pinning variables that are set."""
    import torch

    parts = [f"{cpu_model()} ({os.cpu_count()} CPUs)"]
    blas = "MKL" if torch.backends.mkl.is_available() else "no MKL"
    dnn = "oneDNN" if torch.backends.mkldnn.is_available() else "no oneDNN"
    parts.append(f"torch {torch.__version__} (ATen {torch.backends.cpu.get_cpu_capability()}, {blas}, {dnn})")
    try:
        if torch.cuda.is_available():
            names = sorted({torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())})
            parts.append("CUDA " + ", ".join(names))
    except Exception:  # noqa: BLE001  (a broken driver is not this line's business)
        pass
    parts += [f"{k}={os.environ[k]}" for k in _VARIABLES if os.environ.get(k)]
    return "; ".join(parts)


def header_line() -> str:
    """``describe()`` as a log header line (``# Numeric environment: ...``);
    never raises (a run must not fail over its header)."""
    try:
        return PREFIX + describe()
    except Exception as e:  # noqa: BLE001
        return f"{PREFIX}unknown ({type(e).__name__}: {e})"


def environments_of(logs: Iterable[Path]) -> List[str]:
    """The environments named in the headers of ``logs`` (missing files and
    logs without the line are skipped), in order, each once."""
    out: List[str] = []
    for log in logs:
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                head = [next(f, "") for _ in range(_HEADER_LINES)]
        except OSError:
            continue
        for line in head:
            if line.startswith(PREFIX):
                env = line[len(PREFIX):].strip()
                if env and env not in out:
                    out.append(env)
    return out
