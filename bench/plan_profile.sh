#!/usr/bin/env bash
# Where a batch-1 forward's time goes: runs dev.graft.runtime.PlanProfile (runtime tests) on a random torchvision
# ResNet at 224x224 under ONEDNN_VERBOSE=profile_exec and -Dgraft.plan.profile=true, then bench/plan_profile.py:
# per call, wall time vs the sum of oneDNN primitive times (the gap is Java and glue; the verbose printing itself
# adds to it), the slowest primitives, and the plan's per-step wall times. A diagnostic, not a benchmark.
#
#   bench/plan_profile.sh [ARCH=resnet18] [PRECISION=fp32|int8] [ITERS=10]   (environment; THREADS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${ARCH:-resnet18}
PRECISION=${PRECISION:-fp32}
ITERS=${ITERS:-10}
WARMUP=${WARMUP:-5}
OUT=bench/out
mkdir -p "$OUT/models"
mvn -q -B -o -pl runtime -am package -DskipTests
JAR=$(ls runtime/target/graft-runtime-*-standalone.jar)
# The oneDNN jars the standalone jar's manifest names (lib/...), from the local Maven repository.
LIBS=""
for f in $(unzip -p "$JAR" META-INF/MANIFEST.MF | tr -d '\r' | sed -n '/^Class-Path:/,/^[A-Z][a-z-]*:/p' \
        | sed 's/^Class-Path://; s/^ //' | tr -d '\n' | tr ' ' '\n' | grep '^lib/'); do
    LIBS="$LIBS:$(find "${M2_REPO:-$HOME/.m2/repository}" -name "$(basename "$f")" | head -1)"
done
CP="runtime/target/test-classes:$JAR$LIBS"
# Models (and the int8 copy, calibrated on 16 random images: timing only) as InferenceBench writes them.
if [ "$PRECISION" = int8 ]; then
    MODEL="$OUT/models/$ARCH-int8.safetensors"
    [ -f "$MODEL" ] || java -cp "$CP" dev.graft.runtime.InferenceBench --arch "$ARCH" --models "$OUT/models" \
        --precisions fp32,int8 --warmup 0 --min-iters 1 --max-iters 1 --min-seconds 0 >/dev/null
else
    MODEL="$OUT/models/$ARCH.safetensors"
    java -cp "$CP" dev.graft.runtime.InferenceBench --arch "$ARCH" --models "$OUT/models" --models-only >/dev/null
fi
LOG="$OUT/plan_profile_${ARCH}_$PRECISION.log"
ONEDNN_VERBOSE=profile_exec OMP_NUM_THREADS=${THREADS:-2} java -Dgraft.plan.profile=true -cp "$CP" \
    dev.graft.runtime.PlanProfile --model "$MODEL" --warmup "$WARMUP" --iters "$ITERS" > "$LOG"
python3 bench/plan_profile.py "$LOG"
grep -E '^ *[0-9.]+ ms  (v[0-9]+ =|all steps)' "$LOG" | sed 's/Conv2dSpec\[\([^]]*\)\]/[\1]/' || true
