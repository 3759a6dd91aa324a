#!/usr/bin/env python
"""Benchmark: espnet2_ext soft-DTW vs pysdtw and tslearn (forward + backward).

Prints one markdown table: for every features kind, device, implementation,
size N = M and feature dim d (batch B, float32, squared-Euclidean cost,
gradients for x and y): the median and the best of ``--repeat``
forward+backward wall times, ns per DP cell (median / (B N M)), the median
process CPU time (all threads), the peak memory of one call, our speed-up
over the fastest peer (ratio of medians), and the largest disagreement with
our result (value and gradient of x, relative to our largest magnitude).

Features (``--features``, see ``bench/sdtw_inputs.py``): ``unit`` (random
unit-norm frames: the regime of ``ssl_sdtw``, whose frames are
L2-normalised, a soft alignment at gamma 0.1; the headline rows),
``ssl:NAME`` (real frames of a frozen encoder on the AN4 audio of
``--audio-dir``, e.g. ``ssl:whisper_tiny_en``; d is the encoder's),
``gauss`` (x, y ~ N(0, ``--scale``^2): sharp alignments).

Timing: every implementation is warmed up (JIT), then they are timed
round-robin ``--repeat`` times, so load from other users of the machine hits
them alike; CUDA calls are timed with CUDA events around the call (the
call synchronises before it returns).  CPU peak memory is the process's peak
RSS during the call above its RSS before it (``/proc/self/clear_refs``
reset of VmHWM), CUDA peak memory ``torch.cuda.max_memory_allocated`` above
the allocation before the call; memory is measured in a second pass after
all timing (it needs glibc to return every freed block to the OS, which
makes every call pay fresh page faults and would distort the times).

Examples::

    python bench/soft_dtw.py                                   # full CPU table
    python bench/soft_dtw.py --sizes 300 --dims 256 --repeat 9
    python bench/soft_dtw.py --device cuda --peers ours,pysdtw --sizes 128,500,1000,2000,4096
    python bench/soft_dtw.py --json results.json               # also write the rows

``--device auto`` measures the CPU implementations and, when CUDA is
available, ours and pysdtw's CUDA path too.  tslearn is capped at
``--tslearn-max`` frames (it takes seconds per call already at 300 frames),
pysdtw's CUDA kernel at ``--pysdtw-cuda-max`` (one thread per row).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from sdtw_inputs import make_inputs  # noqa: E402


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
    """fn(x, y) -> (B,), or None where the implementation has no such device."""
    if name == "ours":
        from espnet2_ext.ops.soft_dtw import soft_dtw

        return lambda x, y: soft_dtw(x, y, gamma=gamma)
    if name == "pysdtw":
        import pysdtw

        return pysdtw.SoftDTW(gamma=gamma, use_cuda=(device == "cuda"))
    if name == "tslearn":
        from tslearn.metrics import SoftDTWLossPyTorch

        return None if device == "cuda" else SoftDTWLossPyTorch(gamma=gamma)
    raise SystemExit(f"unknown peer {name!r} (ours, pysdtw, tslearn)")


def run_once(fn, x, y, device):
    x.grad = y.grad = None
    v = fn(x, y)
    v.sum().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    return v.detach(), x.grad.detach(), y.grad.detach()


def _timed(fn, x, y, device):
    """Wall seconds (CUDA events on a GPU) and process CPU seconds of one call."""
    c0 = time.process_time()
    if device == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run_once(fn, x, y, device)
        end.record()
        end.synchronize()
        wall = start.elapsed_time(end) / 1e3
    else:
        t0 = time.perf_counter()
        run_once(fn, x, y, device)
        wall = time.perf_counter() - t0
    return wall, time.process_time() - c0


def measure_interleaved(impls, x, y, device, repeat):
    """Warm every implementation up, then time them round-robin ``repeat``
    times.  Returns outputs, wall and CPU times (lists) and errors per name."""
    outs, walls, cpus, errors = {}, {}, {}, {}
    for name, fn in impls.items():
        try:
            outs[name] = run_once(fn, x, y, device)  # warm-up (JIT, caches)
        except Exception as e:  # a peer failing must not end the table
            errors[name] = f"{type(e).__name__}: {str(e)[:80]}"
    for _ in range(repeat):
        for name, fn in impls.items():
            if name in errors:
                continue
            w, c = _timed(fn, x, y, device)
            walls.setdefault(name, []).append(w)
            cpus.setdefault(name, []).append(c)
    return outs, walls, cpus, errors


def measure_peak(fn, x, y, device):
    """Peak memory of one call above the memory in use before it (run after
    all timing, once the allocator returns every freed block to the OS)."""
    with PeakMemory(device) as pm:
        run_once(fn, x, y, device)
    return pm.peak_mib


def _rel(a, b):
    return ((a.double() - b.double()).abs().max() / b.double().abs().max().clamp_min(1e-30)).item()


def _skip_reason(name, device, n, args):
    if name == "tslearn" and n > args.tslearn_max:
        return f"tslearn skipped above N={args.tslearn_max} (seconds per call)"
    if name == "pysdtw" and device == "cuda" and n > args.pysdtw_cuda_max:
        return (f"pysdtw CUDA skipped above N={args.pysdtw_cuda_max} "
                "(one thread per row, 1024-thread block limit)")
    return None


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", default="unit,ssl:whisper_tiny_en",
                    help="comma list of input kinds: unit, gauss, ssl:NAME (see bench/sdtw_inputs.py)")
    ap.add_argument("--sizes", default="128,300,500,1000,2000", help="comma list of N = M")
    ap.add_argument("--dims", default="256,768", help="comma list of feature dims d (unit, gauss)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--peers", default="ours,pysdtw,tslearn")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per implementation and row")
    ap.add_argument("--gamma", type=float, default=0.1)
    ap.add_argument("--scale", type=float, default=1.0, help="feature std of the gauss kind")
    ap.add_argument("--audio-dir", default=str(REPO.parent / "shared" / "data" / "an4"),
                    help="16 kHz .sph/.wav files for the ssl: kinds (default: the shared AN4 subset)")
    ap.add_argument("--tslearn-max", type=int, default=300, help="largest N for tslearn")
    ap.add_argument("--pysdtw-cuda-max", type=int, default=1024,
                    help="largest N for pysdtw CUDA (one thread per row, 1024 max)")
    ap.add_argument("--threads", type=int, default=0,
                    help="CPU threads for torch and Numba (all implementations); 0 = leave the defaults")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads > 0:
        import numba

        torch.set_num_threads(args.threads)  # ours follows torch's count (see _threads.py)
        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))  # pysdtw's prange

    kinds = [k for k in args.features.split(",") if k]
    sizes = [int(s) for s in args.sizes.split(",") if s]
    dims = [int(s) for s in args.dims.split(",") if s]
    peers = [p for p in args.peers.split(",") if p]
    devices = ["cpu"] if args.device == "cpu" else ["cuda"] if args.device == "cuda" else (
        ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    if "cuda" in devices and not torch.cuda.is_available():
        raise SystemExit("--device cuda but torch.cuda.is_available() is False")

    gpu = torch.cuda.get_device_name() if "cuda" in devices else "none used"
    load_start = os.getloadavg()[0]
    print(f"# soft-DTW benchmark: B={args.batch}, float32, gamma={args.gamma}, forward+backward "
          f"(grads of x and y), {args.repeat} timed runs per row, round-robin")
    print(f"# CPU: {os.cpu_count()} cores visible, torch threads {torch.get_num_threads()}, "
          f"load average {load_start:.2f} at the start; GPU: {gpu}; torch {torch.__version__}")
    print()
    notes = set()
    rows = []
    for kind in kinds:
        for n in sizes:
            for d in (dims if not kind.startswith("ssl:") else [None]):
                try:
                    x0, y0 = make_inputs(kind, args.batch, n, d or 0, seed=args.seed, scale=args.scale,
                                         audio_dir=args.audio_dir)
                except Exception as e:  # e.g. no audio or encoder here: skip the kind, say why
                    notes.add(f"features {kind} skipped: {type(e).__name__}: {str(e)[:120]}")
                    break
                d = x0.shape[-1]
                for device in devices:
                    rows += _measure_row(kind, device, n, d, x0, y0, peers, args, notes)
    load_end = os.getloadavg()[0]

    _fix_malloc_threshold()  # memory pass, after all timing
    for row in rows:
        if "fn" in row:
            x = row.pop("x0").to(row["device"]).requires_grad_(True)
            y = row.pop("y0").to(row["device"]).requires_grad_(True)
            row["peak_mib"] = measure_peak(row.pop("fn"), x, y, row["device"])
            del x, y
    _ratios(rows)
    print_table(rows)
    print(f"\n# load average at the start {load_start:.2f}, at the end of the timing {load_end:.2f}")
    for note in sorted(notes):
        print(f"\nNote: {note}.")
    if args.json:
        meta = dict(batch=args.batch, gamma=args.gamma, repeat=args.repeat, gpu=gpu, torch=torch.__version__,
                    load_start=load_start, load_end=load_end, notes=sorted(notes))
        Path(args.json).write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    return rows


def _measure_row(kind, device, n, d, x0, y0, peers, args, notes):
    impls, out_rows, skipped = {}, [], []
    for name in peers:
        fn = make_impl(name, device, args.gamma)
        reason = _skip_reason(name, device, n, args)
        if fn is None:
            continue
        if reason:
            notes.add(reason)
            skipped.append(dict(features=kind, device=device, impl=name, n=n, d=d, skipped=True))
            continue
        impls[name] = fn
    x = x0.to(device).requires_grad_(True)
    y = y0.to(device).requires_grad_(True)
    outs, walls, cpus, errors = measure_interleaved(impls, x, y, device, args.repeat)
    cells = args.batch * n * n
    for name, fn in impls.items():
        row = dict(features=kind, device=device, impl=name, n=n, d=d)
        if name in errors:
            row["error"] = errors[name]
        else:
            med = statistics.median(walls[name])
            row.update(median_ms=med * 1e3, min_ms=min(walls[name]) * 1e3, ns_cell=med * 1e9 / cells,
                       cpu_ms=statistics.median(cpus[name]) * 1e3, fn=fn, x0=x0, y0=y0)
            if "ours" in outs and name != "ours":
                row["diff"] = (_rel(outs[name][0], outs["ours"][0]), _rel(outs[name][1], outs["ours"][1]))
            print(f"# timed {kind} {device} {name} N={n} d={d}: median {med * 1e3:.1f} ms",
                  file=sys.stderr, flush=True)
        out_rows.append(row)
    del x, y
    if device == "cuda":
        torch.cuda.empty_cache()
    return out_rows + skipped


def _ratios(rows):
    """Our speed-up over the fastest peer of the same features, device, N, d (medians)."""
    groups = {}
    for r in rows:
        if "median_ms" in r:
            groups.setdefault((r["features"], r["device"], r["n"], r["d"]), {})[r["impl"]] = r["median_ms"]
    for r in rows:
        g = groups.get((r["features"], r["device"], r["n"], r["d"]), {})
        peers = [t for name, t in g.items() if name != "ours"]
        if r["impl"] == "ours" and "ours" in g and peers:
            r["speedup"] = min(peers) / g["ours"]


def print_table(rows):
    print("| features | device | impl | N=M | d | median ms | min ms | ns/cell | CPU-time ms | peak MiB "
          "| ours: x faster than best peer | max rel diff vs ours (value / grad x) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        head = f"| {r['features']} | {r['device']} | {r['impl']} | {r['n']} | {r['d']} |"
        if r.get("skipped"):
            print(f"{head} skipped (see note) | | | | | | |")
        elif "error" in r:
            print(f"{head} error: {r['error']} | | | | | | |")
        else:
            sp = f"**{r['speedup']:.1f}**" if "speedup" in r else ""
            diff = "{:.1e} / {:.1e}".format(*r["diff"]) if "diff" in r else ""
            print(f"{head} {r['median_ms']:.1f} | {r['min_ms']:.1f} | {r['ns_cell']:.1f} | {r['cpu_ms']:.1f} "
                  f"| {r.get('peak_mib', float('nan')):.0f} | {sp} | {diff} |")


if __name__ == "__main__":
    main()
