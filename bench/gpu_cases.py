#!/usr/bin/env python
"""Soft-DTW correctness cases on a real GPU (step 2 of ``bench/gpu_check.sh``).

Every case draws fresh random inputs and compares values and both gradients
(``v * w`` summed with a non-uniform ``w``, so the upstream gradient is not
all ones) against a trusted result, relative to its largest magnitude:

* ``ref``: the plain-PyTorch float64 DP (``backend="reference"``, autograd
  through the DP) -- for N, M <= 512;
* ``cpu64``: our CPU kernels in float64 (themselves held to the reference at
  1e-8 by ``test/ops``) -- for the long cases, N = 4096 and 8192, where the
  reference's autograd graph is too large.

Backends checked: ``cuda`` (our Numba CUDA kernels on the GPU) in float32 and
float64, and ``cpu`` (our CPU kernels) in both dtypes as the control.
Tolerances are those of ``test/ops``: float64 1e-8; float32 2e-5 for values
(1e-4 for the divergence, a difference of three terms) and 2e-3 for
gradients; no NaN or inf anywhere.  Padded frames must get exactly zero
gradient.

Without a CUDA device the GPU rows are skipped with a message and the CPU
rows still run.  ``--quick``: small cases only (for the test of the script).
Prints one markdown table, writes it with every number to ``--json``, and
exits 1 if any row fails.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from espnet2_ext.ops.soft_dtw import soft_dtw  # noqa: E402

F64, F32 = torch.float64, torch.float32


def _case(name, B, N, M, d, gamma=0.1, bandwidth=None, normalize=False, lengths=True, unit=False,
          truth="ref"):
    return dict(name=name, B=B, N=N, M=M, d=d, gamma=gamma, bandwidth=bandwidth, normalize=normalize,
                lengths=lengths, unit=unit, truth=truth)


def cases(quick):
    out = [_case(f"gamma={g}", 4, 97, 131, 16, gamma=g) for g in (1.0, 0.1, 0.01, 0.001)]
    out += [
        _case("divergence", 4, 120, 90, 16, normalize=True),
        _case("band w=5, N!=M", 3, 150, 110, 8, bandwidth=5.0),
        _case("band w=0.5 (narrowest)", 3, 64, 64, 8, bandwidth=0.5, normalize=True),
        _case("N=1", 3, 1, 300, 8, lengths=False),
        _case("M=1", 3, 300, 1, 8, lengths=False),
        _case("N=M=1", 2, 1, 1, 4, lengths=False),
        _case("N=7, M=500", 2, 7, 500, 8),
        _case("unit frames 300x300 d=256 (ssl_sdtw regime)", 16, 300, 300, 256, lengths=False, unit=True),
        _case("512x512, gamma=0.01", 2, 512, 512, 32, gamma=0.01),
    ]
    if quick:
        out = [c for c in out if c["name"] in ("gamma=0.1", "divergence", "band w=0.5 (narrowest)", "N=1")]
    else:
        out += [
            _case("N=M=4096", 2, 4096, 4096, 64, unit=True, truth="cpu64"),
            _case("N=M=4096, divergence, lengths", 2, 4096, 4096, 64, normalize=True, truth="cpu64"),
            _case("N=M=8192", 1, 8192, 8192, 64, unit=True, lengths=False, truth="cpu64"),
        ]
    return out


def make_inputs(c, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(c["B"], c["N"], c["d"], generator=g, dtype=F64)
    y = torch.randn(c["B"], c["M"], c["d"], generator=g, dtype=F64)
    if c["unit"]:
        x, y = x / x.norm(dim=-1, keepdim=True), y / y.norm(dim=-1, keepdim=True)
    else:
        x, y = x * c["d"] ** -0.5, y * c["d"] ** -0.5
    xl = yl = None
    if c["lengths"]:
        xl = torch.randint(1, c["N"] + 1, (c["B"],), generator=g)
        yl = torch.randint(1, c["M"] + 1, (c["B"],), generator=g)
        xl[0], yl[0] = c["N"], c["M"]
    return x, y, xl, yl


def value_and_grads(x, y, device, dtype, backend, c, xl, yl):
    x = x.to(device, dtype).requires_grad_(True)
    y = y.to(device, dtype).requires_grad_(True)
    v = soft_dtw(x, y, xl, yl, gamma=c["gamma"], bandwidth=c["bandwidth"], normalize=c["normalize"],
                 backend=backend)
    w = torch.linspace(0.5, 1.5, v.shape[0], dtype=v.dtype, device=v.device)
    gx, gy = torch.autograd.grad((v * w).sum(), [x, y])
    if device == "cuda":
        torch.cuda.synchronize()
    return [t.detach().cpu() for t in (v, gx, gy)]


def rel_err(a, b):
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


def check(c, backend, dtype, got, truth, xl, yl):
    if dtype == F64:
        tol = (1e-8, 1e-8, 1e-8)
    else:
        tol = (1e-4 if c["normalize"] else 2e-5, 2e-3, 2e-3)
    errs = [rel_err(a, b) for a, b in zip(got, truth)]
    finite = all(bool(torch.isfinite(t).all()) for t in got)
    pad_zero = True
    if xl is not None:
        for b in range(c["B"]):
            pad_zero &= int(torch.count_nonzero(got[1][b, int(xl[b]):])) == 0
            pad_zero &= int(torch.count_nonzero(got[2][b, int(yl[b]):])) == 0
    ok = finite and pad_zero and all(e <= t for e, t in zip(errs, tol))
    return dict(errs=errs, tol=tol, finite=finite, pad_zero=pad_zero, ok=ok)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small cases only")
    ap.add_argument("--json", default=None)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    gpu = torch.cuda.is_available()
    if gpu:
        print(f"# GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    else:
        print("# no CUDA device: the GPU rows are SKIPPED; the CPU rows run as the control")
    runs = [("cpu", F64), ("cpu", F32)] + ([("cuda", F32), ("cuda", F64)] if gpu else [])
    rows, failed = [], 0
    for k, c in enumerate(cases(args.quick)):
        x, y, xl, yl = make_inputs(c, args.seed + k)
        t0 = time.perf_counter()
        if c["truth"] == "ref":
            dev = "cuda" if gpu else "cpu"  # the reference runs fastest on the GPU
            truth = value_and_grads(x, y, dev, F64, "reference", c, xl, yl)
        else:
            truth = value_and_grads(x, y, "cpu", F64, "cpu", c, xl, yl)
        t_truth = time.perf_counter() - t0
        for backend, dtype in runs:
            if c["truth"] == "cpu64" and backend == "cpu" and dtype == F64:
                continue  # that is the truth itself
            t0 = time.perf_counter()
            try:
                got = value_and_grads(x, y, backend, dtype, backend, c, xl, yl)
                res = check(c, backend, dtype, got, truth, xl, yl)
            except Exception as e:  # one failing case must not hide the others
                res = dict(ok=False, error=f"{type(e).__name__}: {str(e)[:200]}")
            res.update(case=c["name"], shape=f"{c['B']}x{c['N']}x{c['M']}x{c['d']}", backend=backend,
                       dtype=str(dtype).replace("torch.", ""), truth=c["truth"],
                       seconds=time.perf_counter() - t0, truth_seconds=t_truth)
            failed += not res["ok"]
            rows.append(res)
            _print_row(res, header=len(rows) == 1)
    print(f"\n# {len(rows) - failed} of {len(rows)} rows passed" + ("" if gpu else "; GPU rows skipped (no CUDA)"))
    if args.json:
        Path(args.json).write_text(json.dumps(dict(gpu=gpu, rows=rows), indent=1))
    return 1 if failed else 0


def _print_row(r, header):
    if header:
        print("| case | B x N x M x d | backend | dtype | vs | rel err value / grad x / grad y | tol | ok | s |")
        print("|---|---|---|---|---|---|---|---|---:|")
    if "error" in r:
        print(f"| {r['case']} | {r['shape']} | {r['backend']} | {r['dtype']} | {r['truth']} | {r['error']} "
              f"| | FAIL | {r['seconds']:.1f} |", flush=True)
        return
    errs = " / ".join(f"{e:.1e}" for e in r["errs"])
    tol = " / ".join(f"{t:.0e}" for t in r["tol"])
    flags = "ok" if r["ok"] else "FAIL" + ("" if r["finite"] else " non-finite") + (
        "" if r["pad_zero"] else " padded-grad")
    print(f"| {r['case']} | {r['shape']} | {r['backend']} | {r['dtype']} | {r['truth']} | {errs} | {tol} "
          f"| {flags} | {r['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
