#!/usr/bin/env bash
# bench/gpu/run-on-device.sh - the whole GPU check of Graft's cuda backend, one command on the GPU machine.
# Run from the repository root with .device/ (made by bench/gpu/pack.sh) carried along:
#
#   bash bench/gpu/run-on-device.sh
#
# Steps, in order (each runs even if an earlier one failed):
#   1. library discovery: nvidia-smi, and which CUDA libraries .device/run.sh found (cuda-libs.txt)
#   2. the gpu test suite (JUnit tag "gpu"; GPU_REQUIRED=true, so "no GPU" fails instead of skipping)
#   3. doctor: backend availability, what --device auto picks, a smoke run on cuda:0
#   4. kernel benchmark: ResNet-50 convolutions at batch 64 in Graft (exact and fast math), then the same
#      shapes in PyTorch on this GPU, and the ratios
# Results go to $OUT (default .device/out-gpu), at most 8 files: summary.log (everything printed),
# cuda-libs.txt, TEST-junit-jupiter.xml, graft-conv.json, torch-conv.json, hs_err_pid*.log after a JVM crash.
# Environment: OUT, QUICK=1 (batch 8, few iterations), SKIP_BENCH=1, BENCH_ARGS (extra CudaConvBench
# arguments), PYTHON (a python3 with CUDA torch), GPU_REQUIRED (default true), TEST_TIMEOUT (s, default 420),
# JAVA_OPTS (default -Xmx16g -Dorg.bytedeco.javacpp.nopointergc=true, as the project's Surefire runs).
# Exit status: 0 when the tests and the doctor passed, else 1.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
D=$ROOT/.device
if [ ! -f "$D/run.sh" ]; then
  echo "run-on-device: no .device/run.sh; make the pack first (bash bench/gpu/pack.sh) and carry .device" >&2
  exit 2
fi
OUT=${OUT:-$D/out-gpu}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SCRATCH=$(mktemp -d)
step() { printf '\n==== %s  [%s]\n' "$*" "$(date -u +%H:%M:%S)"; }
export GPU_REQUIRED=${GPU_REQUIRED:-true}
# As the project's Surefire runs: native memory is freed explicitly, never by JavaCPP's GC thread.
export JAVA_OPTS=${JAVA_OPTS:--Xmx16g -Dorg.bytedeco.javacpp.nopointergc=true -Dgraft.demo.data=$ROOT/demo/fashion}

main() {

step "1/4 library discovery"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,compute_cap --format=csv || nvidia-smi
else
  echo "nvidia-smi not found"
fi
OUT=$SCRATCH/discovery bash "$D/run.sh" --java -version
cp "$SCRATCH/discovery/cuda-libs.txt" "$OUT/" 2>/dev/null

step "2/4 gpu test suite (GPU_REQUIRED=$GPU_REQUIRED)"
OUT=$SCRATCH/tests timeout "${TEST_TIMEOUT:-420}" bash "$D/run.sh" --include-tag gpu --config jqwik.database="$SCRATCH/jqwik-database"
TESTS=$?
cp "$SCRATCH"/tests/junit/TEST-junit-jupiter.xml "$OUT/" 2>/dev/null
echo "gpu tests exit status: $TESTS"

step "3/4 doctor"
OUT=$SCRATCH/doctor bash "$D/run.sh" --main dev.graft.engine.backend.cuda.CudaDoctor --require-cuda
DOCTOR=$?
echo "doctor exit status: $DOCTOR"

BENCH=skipped
TORCH=skipped
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  step "4/4 kernel benchmark: ResNet-50 convolutions, Graft then PyTorch"
  ARGS=(${BENCH_ARGS:-})
  [ "${QUICK:-0}" = 1 ] && ARGS+=(--quick)
  OUT=$SCRATCH/bench bash "$D/run.sh" --main dev.graft.engine.backend.cuda.CudaConvBench "${ARGS[@]}" --json "$OUT/graft-conv.json"
  BENCH=$?
  PY=${PYTHON:-}
  if [ -z "$PY" ]; then
    for p in python3 /opt/torch/.venv/bin/python3; do
      if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
        PY=$p; break
      fi
    done
  fi
  if [ -z "$PY" ]; then
    echo "no python3 with CUDA torch found (set PYTHON); PyTorch side skipped"
    TORCH=skipped
  else
    PYARGS=()
    [ "${QUICK:-0}" = 1 ] && PYARGS+=(--warmup 1 --iters 3)
    COMPARE=()
    [ -s "$OUT/graft-conv.json" ] && COMPARE=(--compare "$OUT/graft-conv.json")
    "$PY" "$ROOT/bench/gpu/torch_conv_bench.py" "${PYARGS[@]}" --json "$OUT/torch-conv.json" "${COMPARE[@]}"
    TORCH=$?
  fi
fi

for f in "$SCRATCH"/*/hs_err_pid*.log; do [ -f "$f" ] && cp "$f" "$OUT/"; done
step "summary"
echo "gpu tests: $([ "$TESTS" = 0 ] && echo passed || echo "FAILED ($TESTS)"); doctor: $([ "$DOCTOR" = 0 ] && echo ok || echo "FAILED ($DOCTOR)"); graft bench: $BENCH; torch bench: $TORCH"
echo "results in $OUT: $(ls "$OUT" | tr '\n' ' ')"
[ "$TESTS" = 0 ] && [ "$DOCTOR" = 0 ]
}

main 2>&1 | tee "$OUT/summary.log"
STATUS=${PIPESTATUS[0]}
rm -rf "$SCRATCH"
exit "$STATUS"
