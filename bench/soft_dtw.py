#!/usr/bin/env python
"""Benchmark: espnet2_ext soft-DTW vs pysdtw and tslearn (forward + backward).

Prints one markdown table: for every implementation, size N = M and feature
dim d (batch B, float32, squared-Euclidean cost, gradients for x and y):
best-of-``--repeat`` forward+backward wall time (the machine is shared), ns per DP cell (time / (B N M)), best process CPU time (all threads; less sensitive to
other users' load than wall time), peak
memory of the call and the largest disagreement with our result (value and
gradient of x, relative to our largest magnitude).

CPU peak memory is the process's peak RSS during the call above its RSS
before it (Linux ``/proc/self/clear_refs`` reset of VmHWM); CUDA peak memory
is ``torch.cuda.max_memory_allocated`` above the allocation before the call.
Memory is measured in a second pass after all timing: it needs glibc to
return every freed block to the OS, which makes every call pay fresh page
faults and would distort the times.

Examples::

    python bench/soft_dtw.py                                  # full table
    python bench/soft_dtw.py --sizes 300 --dims 256 --repeat 5
    python bench/soft_dtw.py --peers ours,pysdtw --device cpu
    python bench/soft_dtw.py --device cuda --sizes 500,1000,2000,4096 --dims 768

``--device auto`` measures the CPU implementations and, when CUDA is
available, ours and pysdtw's CUDA path too.  tslearn is capped at
``--tslearn-max`` frames (it takes seconds per call already at 300 frames).
"""

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# ----------------------------------------------------------------------------
# memory probes


def _fix_malloc_threshold():
    """Make glibc return every large block to the OS on free (fixed mmap
    threshold), so RSS follows the live allocations and the peak-RSS probe
    sees each call's own peak instead of memory cached from earlier calls."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 1 << 17)  # M_MMAP_THRESHOLD = 128 KiB
        libc.malloc_trim(0)  # and give back what earlier calls left in the heap
    except OSError:
        pass


def _rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakMemory:
    def __init__(self, device):
        self.device = device
        self.peak_mib = float("nan")

    def __enter__(self):
        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            try:
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")  # reset the peak-RSS high-water mark
                self.base = _rss_kib("VmRSS")
            except OSError:
                self.base = None
        return self

    def __exit__(self, *exc):
        if self.device == "cuda":
            torch.cuda.synchronize()
            self.peak_mib = (torch.cuda.max_memory_allocated() - self.base) / 2 ** 20
        elif self.base is not None:
            self.peak_mib = (_rss_kib("VmHWM") - self.base) / 1024
        return False


# ----------------------------------------------------------------------------
# implementations: each returns fn(x, y) -> (B,) values, differentiable


def make_impl(name, device, gamma):
    if name == "ours":
        from espnet2_ext.ops.soft_dtw import soft_dtw

        return lambda x, y: soft_dtw(x, y, gamma=gamma)
    if name == "pysdtw":
        import pysdtw

        mod = pysdtw.SoftDTW(gamma=gamma, use_cuda=(device == "cuda"))
        return mod
    if name == "tslearn":
        from tslearn.metrics import SoftDTWLossPyTorch

        if device == "cuda":
            return None
        return SoftDTWLossPyTorch(gamma=gamma)
    raise SystemExit(f"unknown peer {name!r}")


def run_once(fn, x, y, device):
    x.grad = y.grad = None
    v = fn(x, y)
    v.sum().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    return v.detach(), x.grad.detach(), y.grad.detach()


def measure_interleaved(impls, x, y, device, repeat):
    """Warm every implementation up, then time them round-robin ``repeat``
    times (so a load spike from other users of the machine hits them all
    alike) and keep each one's best wall and CPU time.  The allocator is left
    as it is in training, so that freed blocks are reused."""
    outs, best, best_cpu, errors = {}, {}, {}, {}
    for name, fn in impls.items():
        try:
            outs[name] = run_once(fn, x, y, device)  # warm-up (JIT, caches)
        except Exception as e:  # a peer failing must not end the table
            errors[name] = f"{type(e).__name__}: {str(e)[:60]}"
    for _ in range(repeat):
        for name, fn in impls.items():
            if name in errors:
                continue
            c0 = time.process_time()
            t0 = time.perf_counter()
            run_once(fn, x, y, device)
            dt = time.perf_counter() - t0
            dc = time.process_time() - c0
            best[name] = min(best.get(name, float("inf")), dt)
            best_cpu[name] = min(best_cpu.get(name, float("inf")), dc)
    return outs, best, best_cpu, errors


def measure_peak(fn, x, y, device):
    """Peak memory of one call above the memory in use before it (run after
    all timing, once the allocator returns every freed block to the OS)."""
    with PeakMemory(device) as pm:
        run_once(fn, x, y, device)
    return pm.peak_mib


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="128,300,500,1000,2000", help="comma list of N = M")
    ap.add_argument("--dims", default="256,768", help="comma list of feature dims d")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--peers", default="ours,pysdtw,tslearn")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per cell (best of)")
    ap.add_argument("--gamma", type=float, default=0.1)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="feature std (1: x ~ N(0, 1); use d**-0.5 for unit-norm-like "
                         "features, i.e. a soft alignment regime)")
    ap.add_argument("--tslearn-max", type=int, default=300, help="largest N for tslearn")
    ap.add_argument("--pysdtw-cuda-max", type=int, default=1024,
                    help="largest N for pysdtw CUDA (one thread per row, 1024 max)")
    ap.add_argument("--threads", type=int, default=0,
                    help="CPU threads for torch and Numba (all implementations); 0 = leave the "
                         "defaults. 1 is much more stable on a machine shared with other jobs, "
                         "where torch's OpenMP regions wait for descheduled threads")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.threads > 0:
        import numba

        torch.set_num_threads(args.threads)
        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))

    sizes = [int(s) for s in args.sizes.split(",") if s]
    dims = [int(s) for s in args.dims.split(",") if s]
    peers = [p for p in args.peers.split(",") if p]
    devices = ["cpu"] if args.device == "cpu" else ["cuda"] if args.device == "cuda" else (
        ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    if "cuda" in devices and not torch.cuda.is_available():
        raise SystemExit("--device cuda but torch.cuda.is_available() is False")

    if "cuda" in devices:
        dev_name = torch.cuda.get_device_name()
    else:
        dev_name = "no CUDA device"
    print(f"# soft-DTW benchmark: B={args.batch}, float32, gamma={args.gamma}, x,y ~ N(0, {args.scale:g}^2), "
          f"forward+backward (grads of x and y), best of {args.repeat}")
    print(f"# CPU: {os.cpu_count()} cores visible, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.2f}; GPU: {dev_name}; torch {torch.__version__}")
    print()
    notes = set()
    rows = []  # (device, name, n, d, x0, y0, fn, cells) then results
    for device in devices:
        impls = {p: make_impl(p, device, args.gamma) for p in peers}
        for n in sizes:
            for d in dims:
                g = torch.Generator().manual_seed(args.seed)
                x0 = torch.randn(args.batch, n, d, generator=g) * args.scale
                y0 = torch.randn(args.batch, n, d, generator=g) * args.scale
                x = x0.to(device).requires_grad_(True)
                y = y0.to(device).requires_grad_(True)
                active, skipped = {}, []
                for name, fn in impls.items():
                    if fn is None:
                        continue
                    if name == "tslearn" and n > args.tslearn_max:
                        notes.add(f"tslearn skipped above N={args.tslearn_max} (seconds per call)")
                        skipped.append(name)
                        continue
                    if name == "pysdtw" and device == "cuda" and n > args.pysdtw_cuda_max:
                        notes.add(f"pysdtw CUDA skipped above N={args.pysdtw_cuda_max} "
                                  "(one thread per row, 1024-thread block limit)")
                        skipped.append(name)
                        continue
                    active[name] = fn
                outs, best, best_cpu, errors = measure_interleaved(active, x, y, device, args.repeat)
                cells = args.batch * n * n
                for name in active:
                    row = dict(device=device, name=name, n=n, d=d, fn=active[name])
                    if name in errors:
                        row["error"] = errors[name]
                        rows.append(row)
                        continue
                    diff = ""
                    if "ours" in outs and name != "ours":
                        ov, ogx, _ = outs["ours"]
                        v, gx, _ = outs[name]
                        dv = ((v.double() - ov.double()).abs().max() / ov.double().abs().max()).item()
                        dg = ((gx.double() - ogx.double()).abs().max() / ogx.double().abs().max()).item()
                        diff = f"{dv:.1e} / {dg:.1e}"
                    row.update(t=best[name], cpu=best_cpu[name], cells=cells, diff=diff)
                    rows.append(row)
                    print(f"# timed {device} {name} N={n} d={d}: {best[name] * 1e3:.1f} ms",
                          file=sys.stderr, flush=True)
                for name in skipped:
                    rows.append(dict(device=device, name=name, n=n, d=d, skipped=True))
                del x, y
                if device == "cuda":
                    torch.cuda.empty_cache()
    load_end = os.getloadavg()[0]

    # memory pass, after all timing (the allocator setting below slows every call)
    _fix_malloc_threshold()
    for row in rows:
        if "t" not in row:
            continue
        g = torch.Generator().manual_seed(args.seed)
        x = (torch.randn(args.batch, row["n"], row["d"], generator=g) * args.scale).to(row["device"])
        y = (torch.randn(args.batch, row["n"], row["d"], generator=g) * args.scale).to(row["device"])
        x.requires_grad_(True)
        y.requires_grad_(True)
        row["peak"] = measure_peak(row["fn"], x, y, row["device"])
        del x, y

    print("| device | impl | N=M | d | fwd+bwd ms | ns/cell | CPU-time ms | peak MiB "
          "| max rel diff vs ours (value / grad x) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        head = f"| {r['device']} | {r['name']} | {r['n']} | {r['d']} |"
        if r.get("skipped"):
            print(f"{head} skipped (see note) | | | | |")
        elif "error" in r:
            print(f"{head} error: {r['error']} | | | | |")
        else:
            t = r["t"]
            print(f"{head} {t * 1e3:.1f} | {t * 1e9 / r['cells']:.1f} | {r['cpu'] * 1e3:.1f} | "
                  f"{r['peak']:.0f} | {r['diff']} |")
    print(f"\n# load average at the end of the timing: {load_end:.2f}")
    for note in sorted(notes):
        print(f"\nNote: {note}.")


if __name__ == "__main__":
    main()
