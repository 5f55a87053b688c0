#!/usr/bin/env bash
# The checks to run on a machine with a CUDA GPU, in one go, each step timed and logged:
#
#   1. env            the machine: GPU, torch, CPUs, load
#   2. pytest_cuda    every test marked cuda (pytest -m cuda)
#   3. agreement      the CPU/GPU agreement tests, verbose (SESM, sweep, RBM, PCA, engine)
#   4. bench_sesm     python -m sesmlib bench sesm --device cuda (speeds; sweep vs sequential)
#   5. paper_sweep    the paper's on-line sweep on the GPU: 20000 digits, 200 units, 5 alpha_s,
#                     5 epochs, timed (bench sesm --quality --batch-size 1 --epochs 5)
#   6. bench_rbm      python -m sesmlib bench rbm --device cuda (needs scikit-learn)
#   7. figure1_quick  python -m sesmlib reproduce figure1 --device cuda --quick
#   8. figure1_full   python -m sesmlib reproduce figure1 --device cuda (the longest step)
#
# Usage, from the repository root:
#   scripts/gpu_check.sh [OUT_DIR]              default OUT_DIR: gpu-check-<date>-<time> (git-ignored)
# Settings (environment):
#   PYTHON=...               the interpreter (default .venv/bin/python when present, else python3)
#   SESMLIB_DATA_DIR=...     where MNIST is (steps 5-8 need it)
#   GPU_CHECK_SKIP=...       steps to skip, e.g. "figure1_full bench_rbm"
#   GPU_CHECK_STEP_TIMEOUT   seconds per step (default 900; a step past it is stopped, rc 124)
#   GPU_CHECK_REHEARSE=1     no GPU here: run the GPU steps on the cpu with small settings, to
#                            check the script itself (figures are then cpu figures)
#
# Without CUDA (and without GPU_CHECK_REHEARSE) the GPU steps are skipped and the rest runs.
# OUT_DIR gets summary.txt (one line per step: name, exit status, seconds), one <step>.log per
# step, and the Figure-1 results in figure1-quick/ and figure1-full/. Caches go to a fresh
# folder inside OUT_DIR, so that every figure is computed, not loaded.
set -u

cd "$(dirname "$0")/.." || exit 2
OUT=${1:-gpu-check-$(date +%Y%m%d-%H%M%S)}
if [ -x .venv/bin/python ]; then PY_DEFAULT=.venv/bin/python; else PY_DEFAULT=python3; fi
PY=${PYTHON:-$PY_DEFAULT}
SKIP=" ${GPU_CHECK_SKIP:-} "
STEP_TIMEOUT=${GPU_CHECK_STEP_TIMEOUT:-900}
REHEARSE=${GPU_CHECK_REHEARSE:-0}
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
export SESMLIB_CACHE_DIR="$OUT/cache"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"

if "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    DEV=cuda
elif [ "$REHEARSE" = 1 ]; then
    DEV=cpu
else
    DEV=none
fi
if [ "$DEV" = cpu ]; then QUICK=--quick; else QUICK=; fi

# step NAME NEEDS_GPU COMMAND...: run COMMAND with its output in OUT/NAME.log, time it, and
# add "NAME rc=... seconds=..." to the summary.
step() {
    local name=$1 needs_gpu=$2
    shift 2
    if [[ "$SKIP" == *" $name "* ]]; then
        echo "$name skipped (GPU_CHECK_SKIP)" | tee -a "$SUMMARY"
        return
    fi
    if [ "$needs_gpu" = 1 ] && [ "$DEV" = none ]; then
        echo "$name skipped (no CUDA device; GPU_CHECK_REHEARSE=1 runs it on the cpu)" | tee -a "$SUMMARY"
        return
    fi
    echo "== $name: $*"
    local t0 t1 rc ms note=
    t0=$(date +%s%N)
    if [ "$(type -t "$1")" = function ]; then
        "$@" > "$OUT/$name.log" 2>&1
    else
        timeout "$STEP_TIMEOUT" "$@" > "$OUT/$name.log" 2>&1
    fi
    rc=$?
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    if [ "$DEV" = cpu ] && [ "$needs_gpu" = 1 ]; then note=" (rehearsal on the cpu)"; fi
    printf '%s rc=%d seconds=%d.%d%s\n' "$name" "$rc" $((ms / 1000)) $((ms % 1000 / 100)) "$note" | tee -a "$SUMMARY"
}

env_info() {
    date -u
    git rev-parse HEAD 2>/dev/null
    uptime
    nproc
    if command -v nvidia-smi > /dev/null; then nvidia-smi; else echo "nvidia-smi: not found"; fi
    "$PY" - <<'EOF'
import os, platform, torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda build", torch.version.cuda)
print("cuda available", torch.cuda.is_available(), "devices", torch.cuda.device_count())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("gpu", p.name, f"{p.total_memory / 2**30:.1f} GiB", "capability", f"{p.major}.{p.minor}")
print("cpu threads", torch.get_num_threads(), "cpus", os.cpu_count(), "load", os.getloadavg())
print("SESMLIB_DATA_DIR", os.environ.get("SESMLIB_DATA_DIR"))
EOF
}

step env 0 env_info
step pytest_cuda 0 "$PY" -m pytest -q -m cuda -p no:cacheprovider tests
step agreement 0 "$PY" -m pytest -v -p no:cacheprovider -k "cuda" tests/test_sesm.py tests/test_rbm.py \
    tests/test_pca.py tests/test_engine.py
if [ "$DEV" = cpu ]; then
    step bench_sesm 1 "$PY" -m sesmlib bench sesm --device cpu --quick
    step paper_sweep 1 "$PY" -m sesmlib bench sesm --device cpu --no-speed --quality --batch-size 1 --epochs 1 \
        --no-progress
    step bench_rbm 1 "$PY" -m sesmlib bench rbm --device cpu --n 2000 --n-test 1000 --epochs 1 --rounds 1 \
        --batch-sizes 100
else
    step bench_sesm 1 "$PY" -m sesmlib bench sesm --device cuda
    step paper_sweep 1 "$PY" -m sesmlib bench sesm --device cuda --no-speed --quality --batch-size 1 --epochs 5 \
        --no-progress
    step bench_rbm 1 "$PY" -m sesmlib bench rbm --device cuda
fi
step figure1_quick 1 "$PY" -m sesmlib reproduce figure1 --device "$DEV" --quick --no-progress --no-cache \
    --out "$OUT/figure1-quick"
if [ "$DEV" = cpu ]; then
    echo "figure1_full skipped (rehearsal on the cpu)" | tee -a "$SUMMARY"
else
    step figure1_full 1 "$PY" -m sesmlib reproduce figure1 --device "$DEV" --no-progress --no-cache \
        --out "$OUT/figure1-full"
fi

echo "summary ($SUMMARY):"
cat "$SUMMARY"
# exit status: 1 when a step that ran failed
! grep -q "rc=[1-9]" "$SUMMARY"
