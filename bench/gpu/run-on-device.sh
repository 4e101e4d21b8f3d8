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
#   5. network benchmark: `graft bench --device cuda` for a ResNet-50 training step (batch 64, 224x224, FP32 and
#      TF32) and ResNet-18 inference (batch 1 and 64), the same work in PyTorch eager on this GPU
#      (bench/train_bench_torch.py --device cuda), and the ratios (bench/gpu/net_bench_report.py)
# Results go to $OUT (default .device/out-gpu), at most 8 files: summary.log (everything printed),
# cuda-libs.txt, TEST-junit-jupiter.xml, graft-conv.json, torch-conv.json, net-bench.json, hs_err_pid*.log
# after a JVM crash.
# Environment: OUT, QUICK=1 (batch 8, few iterations), SKIP_BENCH=1 (steps 4 and 5), SKIP_NET=1 (step 5), BENCH_ARGS (extra CudaConvBench
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

step "1/5 library discovery"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,compute_cap --format=csv || nvidia-smi
else
  echo "nvidia-smi not found"
fi
OUT=$SCRATCH/discovery bash "$D/run.sh" --java -version
cp "$SCRATCH/discovery/cuda-libs.txt" "$OUT/" 2>/dev/null

step "2/5 gpu test suite (GPU_REQUIRED=$GPU_REQUIRED)"
OUT=$SCRATCH/tests timeout "${TEST_TIMEOUT:-420}" bash "$D/run.sh" --include-tag gpu --config jqwik.database="$SCRATCH/jqwik-database"
TESTS=$?
cp "$SCRATCH"/tests/junit/TEST-junit-jupiter.xml "$OUT/" 2>/dev/null
echo "gpu tests exit status: $TESTS"

step "3/5 doctor"
OUT=$SCRATCH/doctor bash "$D/run.sh" --main dev.graft.engine.backend.cuda.CudaDoctor --require-cuda
DOCTOR=$?
echo "doctor exit status: $DOCTOR"

BENCH=skipped
TORCH=skipped
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  step "4/5 kernel benchmark: ResNet-50 convolutions, Graft then PyTorch"
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

NET=skipped
if [ "${SKIP_BENCH:-0}" != 1 ] && [ "${SKIP_NET:-0}" != 1 ]; then
  step "5/5 network benchmark: ResNet-50 training b64 (FP32, TF32), ResNet-18 inference b1/b64; Graft then PyTorch"
  NB=$SCRATCH/net && mkdir -p "$NB"
  R50=(--arch resnet50 --batch 64 --only train --iters 10)
  R18=(--arch resnet18 --batch 64 --only infer --iters 20)
  if [ "${QUICK:-0}" = 1 ]; then R50=(--arch resnet50 --batch 8 --only train --iters 3); R18=(--arch resnet18 --batch 8 --only infer --iters 5); fi
  NET=0
  for math in exact fast; do
    GRAFT_CUDA_MATH=$math OUT=$NB/run-$math bash "$D/run.sh" --main dev.graft.cli.GraftCli bench --device cuda \
      "${R50[@]}" --json "$NB/graft-r50-train-$math.json" || NET=1
  done
  GRAFT_CUDA_MATH=exact OUT=$NB/run-infer bash "$D/run.sh" --main dev.graft.cli.GraftCli bench --device cuda \
    "${R18[@]}" --json "$NB/graft-r18-infer-exact.json" || NET=1
  if [ -n "${PY:-}" ]; then
    B50=${R50[3]} B18=${R18[3]}
    "$PY" "$ROOT/bench/train_bench_torch.py" --device cuda --config "r50_train_b$B50" --iters "${R50[7]}" --out "$NB/torch-r50-train-exact.json" || NET=1
    "$PY" "$ROOT/bench/train_bench_torch.py" --device cuda --tf32 --config "r50_train_b$B50" --iters "${R50[7]}" --out "$NB/torch-r50-train-fast.json" || NET=1
    "$PY" "$ROOT/bench/train_bench_torch.py" --device cuda --config r18_infer_b1 --out "$NB/torch-r18-infer-b1-exact.json" || NET=1
    "$PY" "$ROOT/bench/train_bench_torch.py" --device cuda --config "r18_infer_b$B18" --iters "${R18[7]}" --out "$NB/torch-r18-infer-b$B18-exact.json" || NET=1
  else
    echo "no python3 with CUDA torch: PyTorch side of the network benchmark skipped"
  fi
  "${PY:-python3}" "$ROOT/bench/gpu/net_bench_report.py" "$NB" --json "$OUT/net-bench.json" || NET=1
fi

for f in "$SCRATCH"/*/hs_err_pid*.log; do [ -f "$f" ] && cp "$f" "$OUT/"; done
step "summary"
echo "gpu tests: $([ "$TESTS" = 0 ] && echo passed || echo "FAILED ($TESTS)"); doctor: $([ "$DOCTOR" = 0 ] && echo ok || echo "FAILED ($DOCTOR)"); graft bench: $BENCH; torch bench: $TORCH; network bench: $NET"
echo "results in $OUT: $(ls "$OUT" | tr '\n' ' ')"
[ "$TESTS" = 0 ] && [ "$DOCTOR" = 0 ]
}

main 2>&1 | tee "$OUT/summary.log"
STATUS=${PIPESTATUS[0]}
rm -rf "$SCRATCH"
exit "$STATUS"
