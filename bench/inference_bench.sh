#!/usr/bin/env bash
# Side-by-side inference benchmark of the embedded runtime (runtime/, dev.graft.runtime) against PyTorch, in one
# run. Not a test; run by hand from the repository root:
#
#   bench/inference_bench.sh [--arch resnet18,resnet50] [--batch 1] [--min-seconds 5]
#
# 1. latency: batch-1 ResNet-18/50 forward at 224x224 (and classify() of a decoded image), Graft's cpu backend
#    (oneDNN, folded and fused plan) vs torchvision eval + no_grad, 2 threads each (OMP_NUM_THREADS=2,
#    torch.set_num_threads(2));
# 2. cold start: process start to printed label for one 512x512 PNG with a ResNet-18 file, `java -jar` the
#    standalone runtime jar (oneDNN jars in lib/ beside it) under three JVM flag sets, vs a Python script doing the
#    same with torch (import, build, load_state_dict, decode, classify), and `import torch, torchvision` alone;
# 3. peak RSS of a ResNet-18 batch-1 workload (load, 30 images) on both sides;
# 4. the size of the pure-Java standalone jar.
#
# Every timed step runs under `flock -x /tmp/bench.lock` once the 1-minute load average is below $QUIET_LOAD
# (default 0.5; gives up waiting after $QUIET_WAIT_S s, default 300); latency loops are repeated while other
# processes use more than 0.15 CPU (up to 3 attempts, the quietest kept). SECTIONS="latency cold rss jar" (default:
# all) reruns a part. Models are random (torchvision initialisation). Output in bench/out/ (ignored by git):
# inference_graft.json, inference_torch.json, cold-start and RSS lines on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ARGS=("$@")
THREADS=${THREADS:-2}
QUIET_LOAD=${QUIET_LOAD:-0.5}
QUIET_WAIT_S=${QUIET_WAIT_S:-300}
SECTIONS=${SECTIONS:-latency cold rss jar}   # a subset to rerun one part
COLD_RUNS=${COLD_RUNS:-5}
OUT=bench/out
RT="$OUT/runtime"   # the deployment under test: the standalone jar and lib/ with the oneDNN jars
mkdir -p "$OUT/models" "$RT/lib"

. bench/quiet.sh

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
flock -s /tmp/bench.lock mvn -q -B -o -pl runtime -am package -DskipTests
flock -s /tmp/bench.lock mvn -q -B -o -pl runtime dependency:build-classpath -Dmdep.outputFile="$PWD/$OUT/runtime-classpath.txt" \
    -Dmdep.includeScope=test >/dev/null
# Snapshots, so rebuilding while the benchmark waits or runs changes nothing.
rm -rf "$OUT/runtime-classes" "$OUT/runtime-test-classes"
cp -r runtime/target/classes "$OUT/runtime-classes"
cp -r runtime/target/test-classes "$OUT/runtime-test-classes"
JAR=$(ls runtime/target/graft-runtime-*-standalone.jar)
cp "$JAR" "$RT/"
mkdir -p "$OUT/runtime-pure" && cp "$JAR" "$OUT/runtime-pure/"   # the same jar with no lib/ beside it
PURE="$OUT/runtime-pure/$(basename "$JAR")"
JAR="$RT/$(basename "$JAR")"
# The oneDNN jars the manifest's Class-Path names, from the local Maven repository.
for f in $(unzip -p "$JAR" META-INF/MANIFEST.MF | tr -d '\r' | sed -n '/^Class-Path:/,/^[A-Z]/p' | sed 's/^Class-Path://; s/^ //' \
        | tr -d '\n' | tr ' ' '\n' | grep '^lib/'); do
    src=$(tr ':' '\n' < "$OUT/runtime-classpath.txt" | grep "/$(basename "$f")$" | head -1)
    [ -n "$src" ] && cp "$src" "$RT/lib/"
done
# graft-engine etc. come from the reactor's target/classes, not from ~/.m2 (never installed).
CP="$OUT/runtime-test-classes:$OUT/runtime-classes:engine/target/classes:models/target/classes:loaders/target/classes"
CP="$CP:$(tr ':' '\n' < "$OUT/runtime-classpath.txt" | grep -v '/dev/graft/' | paste -sd:)"

TUNED="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx64m"   # JVM flags for a small, quick start
# The files the cold-start and RSS parts read (the latency part writes the safetensors models too).
MODEL="$OUT/models/resnet18.safetensors"
PTH="$OUT/models/resnet18.pth"
IMG="$OUT/chest.png"
if [[ " $SECTIONS " == *" cold "* || " $SECTIONS " == *" rss "* ]]; then
    [ -f "$MODEL" ] || java -cp "$CP" dev.graft.runtime.InferenceBench --models "$OUT/models" --arch resnet18 --models-only true
    [ -f "$PTH" ] || /usr/bin/python3 bench/inference_bench_torch.py --save-pth resnet18 "$PTH"
    [ -f "$IMG" ] || /usr/bin/python3 -c "
import numpy as np; from PIL import Image
Image.fromarray((np.random.default_rng(0).random((512, 512, 3)) * 255).astype('uint8')).save('$IMG')"
fi

if [[ " $SECTIONS " == *" latency "* ]]; then
echo
echo "## 1. latency"
wait_quiet
echo "# graft: load $(cut -d' ' -f1-3 /proc/loadavg)"
flock -x /tmp/bench.lock env OMP_NUM_THREADS="$THREADS" java -Xmx2g -Dorg.bytedeco.javacpp.nopointergc=true \
    -cp "$CP" dev.graft.runtime.InferenceBench --models "$OUT/models" "${ARGS[@]}" --out "$OUT/inference_graft.json"
wait_quiet
echo "# torch: load $(cut -d' ' -f1-3 /proc/loadavg)"
flock -x /tmp/bench.lock /usr/bin/python3 bench/inference_bench_torch.py --threads "$THREADS" "${ARGS[@]}" \
    --out "$OUT/inference_torch.json"
echo
python3 bench/inference_bench_report.py "$OUT/inference_graft.json" "$OUT/inference_torch.json"
fi

if [[ " $SECTIONS " == *" cold "* ]]; then
echo
echo "## 2. cold start (median of $COLD_RUNS, process start to printed label; peak RSS of the last run)"
CDS="$RT/graft-runtime.jsa"
# An application class-data archive: one run records the classes it loads, later runs map them.
rm -f "$CDS"
OMP_NUM_THREADS="$THREADS" java $TUNED -XX:ArchiveClassesAtExit="$CDS" -jar "$JAR" "$MODEL" "$IMG" >/dev/null 2>&1

cold() {  # label, command...: median wall ms of $COLD_RUNS runs, peak RSS (KiB) of the last, its output
    local label=$1; shift
    local walls=() out rss
    for _ in $(seq "$COLD_RUNS"); do
        local t0 t1
        t0=$(date +%s%N)
        out=$(/usr/bin/time -f "%M" -o "$OUT/time.txt" env OMP_NUM_THREADS="$THREADS" "$@" 2>/dev/null | tail -1)
        t1=$(date +%s%N)
        walls+=($(( (t1 - t0) / 1000000 )))
        rss=$(tail -1 "$OUT/time.txt")
    done
    local median
    median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (COLD_RUNS + 1) / 2 ))p")
    printf '%-58s %6s ms  (runs: %s)  peak RSS %4d MiB  -> %s\n' "$label" "$median" "${walls[*]}" $((rss / 1024)) "$out"
}
wait_quiet
echo "# load $(cut -d' ' -f1-3 /proc/loadavg)"
flock -x /tmp/bench.lock bash -c "$(declare -f cold); COLD_RUNS=$COLD_RUNS OUT=$OUT THREADS=$THREADS
cold 'graft java -jar, default JVM flags' java -jar '$JAR' '$MODEL' '$IMG'
cold 'graft java -jar, -Xmx128m' java -Xmx128m -jar '$JAR' '$MODEL' '$IMG'
cold 'graft java -jar, $TUNED' java $TUNED -jar '$JAR' '$MODEL' '$IMG'
cold 'graft java -jar, tuned + AppCDS archive' java $TUNED -XX:SharedArchiveFile='$CDS' -jar '$JAR' '$MODEL' '$IMG'
cold 'graft pure Java (no lib/: reference backend), -Xmx256m' java -Xmx256m -jar '$PURE' '$MODEL' '$IMG'
cold 'torch script: import, build, load .pth, decode, classify' /usr/bin/python3 bench/inference_bench_torch.py --threads $THREADS --cold-start '$PTH' '$IMG'
cold 'torch: python3 -c \"import torch, torchvision\" alone' /usr/bin/python3 -c 'import torch, torchvision; print(\"imported\")'
"
fi

if [[ " $SECTIONS " == *" rss "* ]]; then
echo
echo "## 3. peak RSS, ResNet-18 batch-1 workload (load the model, classify 30 images)"
IMGS=$(for _ in $(seq 30); do printf '%s ' "$IMG"; done)
rss() {
    flock -x /tmp/bench.lock /usr/bin/time -f "%M" -o "$OUT/time.txt" env OMP_NUM_THREADS="$THREADS" "$@" >/dev/null 2>&1
    echo $(( $(tail -1 "$OUT/time.txt") / 1024 ))
}
printf '%-58s %4d MiB\n' "graft, default JVM flags" "$(rss java -jar "$JAR" "$MODEL" $IMGS)"
printf '%-58s %4d MiB\n' "graft, -Xmx128m" "$(rss java -Xmx128m -jar "$JAR" "$MODEL" $IMGS)"
printf '%-58s %4d MiB\n' "graft, $TUNED" "$(rss java $TUNED -jar "$JAR" "$MODEL" $IMGS)"
printf '%-58s %4d MiB\n' "torch (30 forward passes, no decoding)" \
    "$(( $(flock -x /tmp/bench.lock /usr/bin/python3 bench/inference_bench_torch.py --threads "$THREADS" --rss resnet18) / 1024 ))"
fi

if [[ " $SECTIONS " == *" jar "* ]]; then
echo
echo "## 4. pure-Java runtime jar"
ls -l "$JAR" | awk '{printf "%s  %d bytes (%.2f MiB)\n", $9, $5, $5 / 1048576}'
echo "org.bytedeco entries in it: $(unzip -l "$JAR" | grep -c 'org/bytedeco' || true)"
fi
