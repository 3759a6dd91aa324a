#!/usr/bin/env bash
# bench/gpu_check.sh [OUT_DIR] -- the soft-DTW GPU check of issue 15, end to end, in one command.
#
# Written for one call of the device machine (one GPU, torch, numba and
# numba-cuda installed, no ESPnet, no package registry; see bench/README.md
# "GPU" for the exact call), and runnable anywhere: without a CUDA device
# every GPU part is skipped with a message and the CPU-side parts still run.
#
# Steps (each under its own time limit; a failing or timed-out step is
# recorded in summary.txt and the next one runs; total under 8 minutes):
#   1. env        GPU name, driver, memory; python, torch, numba, numba-cuda, llvmlite, pysdtw
#   2. pysdtw     the peer, installed from a wheel in bench/wheels/ when not importable
#                 (fetch it beforehand with bench/fetch_gpu_wheels.sh)
#   3. cases      bench/gpu_cases.py: values and both gradients of the CUDA backend against the
#                 float64 reference and the CPU backend (gamma 1..0.001, divergence, band,
#                 N != M, N or M = 1, lengths, N = 4096 and 8192; no NaN/inf)
#   4. bench      bench/soft_dtw.py --device cuda: ours vs pysdtw's CUDA path, N = M in
#                 {128, 500, 1000, 2000, 4096}, d in {256, 768}, B = 16, unit-norm and N(0,1)
#                 frames, CUDA-event timing, peak memory (no GPU: the CPU headline row instead)
#   5. ssl_step   bench/ssl_step.py on cuda if ESPnet is importable there, else skipped
#   6. ncu        Nsight Compute summary of one forward and one backward kernel launch at
#                 B = 16, 500 x 500, d = 768 (when ncu and a GPU are there)
#
# Outputs (8 files, flat, as the device tool returns them): summary.txt, env.txt, cases.md,
# cases.json, bench.md, bench.json, ssl_step.txt, ncu.txt.  OUT_DIR defaults to $OUT, else
# bench/gpu_check_out.  GPU_CHECK_QUICK=1: small sizes everywhere (the test of this script).
set -u

cd "$(dirname "$0")/.." || exit 1
out=${1:-${OUT:-bench/gpu_check_out}}
mkdir -p "$out" || exit 1
py=${PYTHON:-python3}
quick=${GPU_CHECK_QUICK:-0}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
summary=$out/summary.txt
: >"$summary"
start=$SECONDS

say() { echo "$*" | tee -a "$summary"; }

# step NAME LIMIT_S LOG CMD...: run CMD with its output in LOG; record rc and time
step() {
    local name=$1 limit=$2 log=$3 t0=$SECONDS rc
    shift 3
    timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
    rc=$?
    local why=""
    [ "$rc" = 124 ] || [ "$rc" = 137 ] && why=" TIMED OUT after ${limit} s"
    say "step $name: rc=$rc, $((SECONDS - t0)) s$why (log: $(basename "$log"))"
}

say "# bench/gpu_check.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), quick=$quick"
if commit=$(git rev-parse --short HEAD 2>/dev/null); then
    git diff --quiet HEAD 2>/dev/null || commit="$commit (+ uncommitted changes)"
else
    commit="unknown (no git checkout here)"
fi
say "# commit: $commit"

# -- 1. environment ----------------------------------------------------------------------------
env_txt=$out/env.txt
{
    echo "## nvidia-smi"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,temperature.gpu \
        --format=csv 2>&1 || echo "nvidia-smi: not available"
    echo "## CPU"
    echo "$(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2); load $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$env_txt" 2>&1
step env 60 "$env_txt" "$py" - <<'EOF'
import importlib.metadata as md, platform, torch
print("## python", platform.python_version())
for pkg in ("torch", "numba", "numba-cuda", "llvmlite", "numpy", "pysdtw"):
    try:
        print(f"{pkg} {md.version(pkg)}")
    except md.PackageNotFoundError:
        print(f"{pkg} not installed")
print("torch CUDA build:", torch.version.cuda, "| cuda available:", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"device: {p.name}, compute capability {p.major}.{p.minor}, {p.multi_processor_count} SMs, "
          f"{p.total_memory / 2**30:.0f} GiB")
    from numba import cuda
    print("numba sees CUDA:", cuda.is_available(), "| cuda.jit has forceinline:",
          "forceinline" in __import__("inspect").signature(cuda.jit).parameters)
EOF
if "$py" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    gpu=1
    say "# GPU: $("$py" -c 'import torch; print(torch.cuda.get_device_name())')"
else
    gpu=0
    say "# no CUDA device (torch.cuda.is_available() is False): every GPU part is SKIPPED;"
    say "#   the CPU-side parts run (CPU backend cases, CPU benchmark row)"
fi

# -- 2. pysdtw (the peer) ----------------------------------------------------------------------
if ! "$py" -c "import pysdtw" 2>/dev/null; then
    if ls bench/wheels/pysdtw-*.whl >/dev/null 2>&1; then
        site=${TMPDIR:-/tmp}/gpu_check_site
        step pysdtw 120 "$env_txt" "$py" -m pip install -q --no-index --no-deps --no-compile \
            --target "$site" bench/wheels/pysdtw-*.whl
        export PYTHONPATH="$PYTHONPATH:$site"
    else
        say "step pysdtw: not importable and no bench/wheels/pysdtw-*.whl: the pysdtw rows will say so"
    fi
fi
"$py" -c "import pysdtw; print('pysdtw', pysdtw.__version__, 'from', pysdtw.__file__)" >>"$env_txt" 2>&1

# -- 3. correctness cases ----------------------------------------------------------------------
cases_args=(--json "$out/cases.json")
[ "$quick" = 1 ] && cases_args+=(--quick)
step cases 150 "$out/cases.md" "$py" bench/gpu_cases.py "${cases_args[@]}"

# -- 4. benchmark ------------------------------------------------------------------------------
if [ "$gpu" = 1 ]; then
    sizes=128,500,1000,2000,4096 dims=256,768 repeat=10 device=cuda features=unit,gauss
    [ "$quick" = 1 ] && sizes=128 dims=64 repeat=2
else
    sizes=300 dims=256 repeat=5 device=cpu features=unit
    [ "$quick" = 1 ] && sizes=48 dims=32 repeat=2
fi
step bench 180 "$out/bench.md" "$py" bench/soft_dtw.py --device "$device" --features "$features" \
    --peers ours,pysdtw --sizes "$sizes" --dims "$dims" --repeat "$repeat" --json "$out/bench.json"

# -- 5. SSL training step ----------------------------------------------------------------------
ssl_txt=$out/ssl_step.txt
if [ "$gpu" != 1 ]; then
    say "step ssl_step: SKIPPED (no CUDA device; the CPU table is in bench/README.md)" | tee "$ssl_txt" >/dev/null
elif ! "$py" -c "import espnet2.tasks.enh" >"$ssl_txt" 2>&1; then
    say "step ssl_step: SKIPPED: ESPnet is not importable on this machine (not installed there; espnet +"
    say "  espnet2 take 25 MiB installed and need some 20 more packages, librosa, nltk, hydra-core,"
    say "  pypinyin, pyworld, ... -- not carried: it would not fit the 64 MiB carry limit reliably);"
    say "  the import error is in $(basename "$ssl_txt")"
else
    step ssl_step 45 "$ssl_txt" "$py" bench/ssl_step.py --upstreams tiny --devices cuda --repeat 3 \
        --warmup 1 --no-separation
fi

# -- 6. Nsight Compute summary of the two kernels -------------------------------------------------
ncu_txt=$out/ncu.txt
if [ "$gpu" = 1 ] && command -v ncu >/dev/null 2>&1; then
    step ncu 60 "$ncu_txt" ncu --clock-control none --target-processes all -k 'regex:(forward|backward)_kernel' \
        -c 2 --section SpeedOfLight --section LaunchStats --section Occupancy "$py" - <<'EOF'
import torch
from espnet2_ext.ops.soft_dtw import soft_dtw
x = torch.nn.functional.normalize(torch.randn(16, 500, 768, device="cuda"), dim=-1).requires_grad_(True)
y = torch.nn.functional.normalize(torch.randn(16, 500, 768, device="cuda"), dim=-1).requires_grad_(True)
soft_dtw(x, y, gamma=0.1).sum().backward()
torch.cuda.synchronize()
EOF
else
    say "step ncu: SKIPPED ($([ "$gpu" = 1 ] && echo 'ncu not on PATH' || echo 'no CUDA device'))" | tee "$ncu_txt" >/dev/null
fi

# -- summary -----------------------------------------------------------------------------------
say "# total $((SECONDS - start)) s"
for f in cases.md bench.md; do
    [ -f "$out/$f" ] || continue
    say ""
    say "## $f (table rows)"
    grep -E '^\||^# [0-9]+ of|^Note|^# load' "$out/$f" | tee -a "$summary"
done
