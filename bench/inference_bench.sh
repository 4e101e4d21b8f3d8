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
# 4. the size of the pure-Java standalone jar;
# 5. (SECTIONS=ort) ONNX Runtime's Java API as the deployment anchor: ResNet-18/50 exported by torch.onnx.export
#    (bench/ort/export_models.py) with the same weights written for Graft (safetensors) and PyTorch (.pth); a parity
#    check first (one image through all three, logits within $ORT_RTOL of PyTorch's, relative to the largest);
#    then batch 1 and 32 latency of the three (ORT_BATCHES), cold start to the first printed label and the peak RSS
#    of that process for each (JVM default flags on both Java sides), and the artifacts' sizes. ONNX Runtime comes
#    from bench/ort/pom.xml, a Maven project of its own, never a dependency of Graft's modules.
#
# Every timed step runs under `flock -x $BENCH_LOCK` (default /tmp/bench.lock) once the 1-minute load average is
# below $QUIET_LOAD (default 0.5; gives up waiting after $QUIET_WAIT_S s, default 300); latency loops are repeated
# while other processes use more than 0.15 CPU (up to 3 attempts, the quietest kept). SECTIONS="latency cold rss jar
# ort" (default: all) reruns a part. Models are random (torchvision initialisation). Output in bench/out/ (ignored by
# git): inference_graft.json, inference_torch.json, ort/ (section 5), cold-start and RSS lines on stdout.
#
# It builds everything from this checkout (one reactor run, bench/build.sh; nothing is installed into ~/.m2), so a
# fresh clone needs no other step; Maven downloads what the local repository lacks (MVN_ARGS=-o: offline). Needs
# Debian's /usr/bin/python3 with torch and torchvision. SMOKE=1: a plumbing check whose figures mean nothing (2 timed
# calls, 1 cold run, no waiting for a quiet machine, ORT section on ResNet-18 at batch 1 and 2 only):
#
#   SMOKE=1 bench/inference_bench.sh --arch resnet18
set -euo pipefail
cd "$(dirname "$0")/.."
ARGS=("$@")
if [ "${SMOKE:-0}" = 1 ]; then   # plumbing check: its figures mean nothing
    QUIET_WAIT_S=0
    COLD_RUNS=1
    ORT_ARCHS=${ORT_ARCHS:-resnet18}
    ORT_BATCHES=${ORT_BATCHES:-1 2}
    ARGS=(--warmup 1 --min-iters 2 --max-iters 2 --min-seconds 0 "${ARGS[@]}")
fi
THREADS=${THREADS:-2}
QUIET_LOAD=${QUIET_LOAD:-0.5}
QUIET_WAIT_S=${QUIET_WAIT_S:-300}
SECTIONS=${SECTIONS:-latency cold rss jar ort}   # a subset to rerun one part
GRAFT_PRECISIONS=${GRAFT_PRECISIONS:-fp32,bf16,int8}   # Graft's cases in the ort part (bf16/int8: forward-bf16, forward-int8)
COLD_RUNS=${COLD_RUNS:-5}
ORT_ARCHS=${ORT_ARCHS:-resnet18,resnet50}   # section 5's architectures
ORT_BATCHES=${ORT_BATCHES:-1 32}
ORT_RTOL=${ORT_RTOL:-1e-3}   # parity: max |logit - PyTorch's| / max |PyTorch's logit|
OUT=bench/out
RT="$OUT/runtime"   # the deployment under test: the standalone jar and lib/ with the oneDNN jars
mkdir -p "$OUT/models" "$RT/lib"

. bench/quiet.sh
. bench/build.sh

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
bench_build runtime package test > "$OUT/runtime-classpath.txt"
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
CP="$CP:test-support/target/classes:$(cat "$OUT/runtime-classpath.txt")"

TUNED="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx64m"   # JVM flags for a small, quick start
# The files the cold-start and RSS parts read (the latency part writes the safetensors models too).
MODEL="$OUT/models/resnet18.safetensors"
PTH="$OUT/models/resnet18.pth"
IMG="$OUT/chest.png"
if [[ " $SECTIONS " == *" cold "* || " $SECTIONS " == *" rss "* || " $SECTIONS " == *" ort "* ]]; then
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
flock -x "$BENCH_LOCK" env OMP_NUM_THREADS="$THREADS" java -Xmx2g -Dorg.bytedeco.javacpp.nopointergc=true \
    -cp "$CP" dev.graft.runtime.InferenceBench --models "$OUT/models" "${ARGS[@]}" --out "$OUT/inference_graft.json"
wait_quiet
echo "# torch: load $(cut -d' ' -f1-3 /proc/loadavg)"
flock -x "$BENCH_LOCK" /usr/bin/python3 bench/inference_bench_torch.py --threads "$THREADS" "${ARGS[@]}" \
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
flock -x "$BENCH_LOCK" bash -c "$(declare -f cold); COLD_RUNS=$COLD_RUNS OUT=$OUT THREADS=$THREADS
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
    flock -x "$BENCH_LOCK" /usr/bin/time -f "%M" -o "$OUT/time.txt" env OMP_NUM_THREADS="$THREADS" "$@" >/dev/null 2>&1
    echo $(( $(tail -1 "$OUT/time.txt") / 1024 ))
}
printf '%-58s %4d MiB\n' "graft, default JVM flags" "$(rss java -jar "$JAR" "$MODEL" $IMGS)"
printf '%-58s %4d MiB\n' "graft, -Xmx128m" "$(rss java -Xmx128m -jar "$JAR" "$MODEL" $IMGS)"
printf '%-58s %4d MiB\n' "graft, $TUNED" "$(rss java $TUNED -jar "$JAR" "$MODEL" $IMGS)"
printf '%-58s %4d MiB\n' "torch (30 forward passes, no decoding)" \
    "$(( $(flock -x "$BENCH_LOCK" /usr/bin/python3 bench/inference_bench_torch.py --threads "$THREADS" --rss resnet18) / 1024 ))"
fi

if [[ " $SECTIONS " == *" jar "* ]]; then
echo
echo "## 4. pure-Java runtime jar"
ls -l "$JAR" | awk '{printf "%s  %d bytes (%.2f MiB)\n", $9, $5, $5 / 1048576}'
echo "org.bytedeco entries in it: $(unzip -l "$JAR" | grep -c 'org/bytedeco' || true)"
fi

if [[ " $SECTIONS " == *" ort "* ]]; then
echo
echo "## 5. ONNX Runtime (Java) as the deployment anchor: the same weights in Graft's runtime, PyTorch and ONNX Runtime"
ORTD="$OUT/ort"
OM="$ORTD/models"
mkdir -p "$OM/graft" "$ORTD/json"
rm -f "$ORTD"/json/*.json "$ORTD/cold.tsv" "$ORTD/sizes.tsv"   # the report reads every file there: this run's only
if ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
    echo "SECTIONS=ort needs torch and torchvision in /usr/bin/python3 (Debian: apt-get install python3-torch python3-torchvision)" >&2
    exit 1
fi
# ONNX Runtime's side: bench/ort, a Maven project of its own (never a dependency of Graft's modules); its classes
# are snapshotted as the runtime's are.
# shellcheck disable=SC2086
flock -s "$BENCH_LOCK" mvn -q -B ${MVN_ARGS:-} -f bench/ort/pom.xml compile \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath -Dmdep.outputFile=target/classpath.txt >&2
rm -rf "$ORTD/classes"
cp -r bench/ort/target/classes "$ORTD/classes"
ORT_CP="$ORTD/classes:$(cat bench/ort/target/classpath.txt)"
ORT_JAR=$(tr ':' '\n' < bench/ort/target/classpath.txt | grep '/onnxruntime-[0-9.]*\.jar$' | head -1)
IFS=, read -ra OARCHS <<< "$ORT_ARCHS"
/usr/bin/python3 bench/ort/export_models.py "$OM" "${OARCHS[@]}"
for a in "${OARCHS[@]}"; do
    ln -sf "../$a-graft.safetensors" "$OM/graft/$a.safetensors"   # where InferenceBench looks for ARCH.safetensors
done

echo "# parity: one 256x256 image (Resize(256) is a no-op on every side), each side's logits against PyTorch's;"
echo "# one 512x512 image, ONNX Runtime's (its own preprocessing) against Graft's"
PIMG="$ORTD/parity-256.png"
[ -f "$PIMG" ] || /usr/bin/python3 -c "
import numpy as np; from PIL import Image
Image.fromarray((np.random.default_rng(1).random((256, 256, 3)) * 255).astype('uint8')).save('$PIMG')"
for a in "${OARCHS[@]}"; do
    tl=$(/usr/bin/python3 bench/inference_bench_torch.py --threads "$THREADS" --cold-start "$OM/$a.pth" "$PIMG" --cold-arch "$a" --logits)
    gl=$(env OMP_NUM_THREADS="$THREADS" java -cp "$CP" bench/ort/GraftLogits.java "$OM/graft/$a.safetensors" "$PIMG")
    ol=$(java -cp "$ORT_CP" dev.graft.bench.ort.OrtBench classify --threads "$THREADS" --logits "$OM/$a.onnx" "$PIMG")
    python3 bench/ort/parity.py "$a 256x256" "$ORT_RTOL" torch "$tl" graft "$gl" onnxruntime "$ol"
    # The 512x512 image goes through each side's resize to 256: Graft's and OrtBench's resample the decoded floats
    # alike, so they must agree too (PIL resizes bytes and rounds, so PyTorch's input differs slightly: not compared).
    gl=$(env OMP_NUM_THREADS="$THREADS" java -cp "$CP" bench/ort/GraftLogits.java "$OM/graft/$a.safetensors" "$IMG")
    ol=$(java -cp "$ORT_CP" dev.graft.bench.ort.OrtBench classify --threads "$THREADS" --logits "$OM/$a.onnx" "$IMG")
    python3 bench/ort/parity.py "$a 512x512" "$ORT_RTOL" graft "$gl" onnxruntime "$ol"
done

for b in $ORT_BATCHES; do
    echo "# latency, batch $b"
    wait_quiet
    echo "# graft: load $(cut -d' ' -f1-3 /proc/loadavg)"
    flock -x "$BENCH_LOCK" env OMP_NUM_THREADS="$THREADS" java -Xmx2g -Dorg.bytedeco.javacpp.nopointergc=true -cp "$CP" \
        dev.graft.runtime.InferenceBench "${ARGS[@]}" --models "$OM/graft" --arch "$ORT_ARCHS" --batch "$b" \
        --precisions "$GRAFT_PRECISIONS" --out "$ORTD/json/graft_b$b.json"
    wait_quiet
    echo "# torch: load $(cut -d' ' -f1-3 /proc/loadavg)"
    flock -x "$BENCH_LOCK" /usr/bin/python3 bench/inference_bench_torch.py --threads "$THREADS" "${ARGS[@]}" --pth-dir "$OM" \
        --arch "$ORT_ARCHS" --batch "$b" --out "$ORTD/json/torch_b$b.json"
    for a in "${OARCHS[@]}"; do
        wait_quiet
        echo "# onnxruntime $a: load $(cut -d' ' -f1-3 /proc/loadavg)"
        flock -x "$BENCH_LOCK" java -cp "$ORT_CP" dev.graft.bench.ort.OrtBench latency "${ARGS[@]}" --model "$OM/$a.onnx" \
            --arch "$a" --batch "$b" --threads "$THREADS" --out "$ORTD/json/ort_b${b}_$a.json"
    done
done

echo "# cold start to the first printed label, one 512x512 PNG, JVM default flags (median of $COLD_RUNS; peak RSS of the last run)"
first_label() {  # label, command...: median ms from process start to its first output line and to its exit, peak RSS
    local label=$1; shift
    local firsts=() exits=() line="" rss=0
    for _ in $(seq "$COLD_RUNS"); do
        local t0 t2
        t0=$(date +%s%N)
        /usr/bin/time -f "%M" -o "$OUT/time.txt" env OMP_NUM_THREADS="$THREADS" "$@" 2>>"$OUT/cold-stderr.txt" \
            | { IFS= read -r l; date +%s%N; printf '%s\n' "$l"; cat >/dev/null; } > "$OUT/first.txt"
        t2=$(date +%s%N)
        firsts+=($(( ($(head -1 "$OUT/first.txt") - t0) / 1000000 )))
        exits+=($(( (t2 - t0) / 1000000 )))
        line=$(sed -n 2p "$OUT/first.txt")
        rss=$(tail -1 "$OUT/time.txt")
    done
    local m=$(( (COLD_RUNS + 1) / 2 )) f e
    f=$(printf '%s\n' "${firsts[@]}" | sort -n | sed -n "${m}p")
    e=$(printf '%s\n' "${exits[@]}" | sort -n | sed -n "${m}p")
    printf '%-46s first label %6s ms (runs: %s), exit %6s ms, peak RSS %4d MiB -> %s\n' "$label" "$f" "${firsts[*]}" "$e" \
        $((rss / 1024)) "$line"
    printf '%s\t%s\t%s\t%s\n' "$label" "$f" "$e" "$rss" >> "$ORTD/cold.tsv"
}
: > "$ORTD/cold.tsv"
: > "$OUT/cold-stderr.txt"
for a in "${OARCHS[@]}"; do
    wait_quiet
    echo "# $a: load $(cut -d' ' -f1-3 /proc/loadavg)"
    flock -x "$BENCH_LOCK" bash -c "$(declare -f first_label); COLD_RUNS=$COLD_RUNS OUT=$OUT ORTD=$ORTD THREADS=$THREADS
first_label 'graft $a' java -jar '$JAR' '$OM/graft/$a.safetensors' '$IMG'
first_label 'onnxruntime $a' java -cp '$ORT_CP' dev.graft.bench.ort.OrtBench classify --threads $THREADS '$OM/$a.onnx' '$IMG'
first_label 'torch $a' /usr/bin/python3 bench/inference_bench_torch.py --threads $THREADS --cold-start '$OM/$a.pth' '$IMG' --cold-arch $a
"
done

echo "# artifact sizes (bytes)"
bytes() { du -cbL "$@" | tail -1 | cut -f1; }
TORCH_DIRS=$(/usr/bin/python3 -c 'import os, torch, torchvision; print(os.path.dirname(torch.__file__), os.path.dirname(torchvision.__file__))')
{
    printf 'graft runtime: standalone jar\t%s\n' "$(bytes "$JAR")"
    printf 'graft runtime: jar + lib/ (oneDNN, JavaCPP)\t%s\n' "$(bytes "$JAR" "$RT/lib")"
    printf 'onnxruntime: %s (every platform'"'"'s natives inside)\t%s\n' "$(basename "$ORT_JAR")" "$(bytes "$ORT_JAR")"
    # shellcheck disable=SC2086
    printf 'torch + torchvision: Python packages\t%s\n' "$(bytes $TORCH_DIRS)"
    for a in "${OARCHS[@]}"; do
        printf '%s: graft .safetensors\t%s\n' "$a" "$(bytes "$OM/$a-graft.safetensors")"
        printf '%s: .onnx\t%s\n' "$a" "$(bytes "$OM/$a.onnx")"
        printf '%s: torch .pth\t%s\n' "$a" "$(bytes "$OM/$a.pth")"
    done
} > "$ORTD/sizes.tsv"
awk -F'\t' '{printf "%-52s %12d  (%.1f MiB)\n", $1, $2, $2 / 1048576}' "$ORTD/sizes.tsv"
echo
python3 bench/inference_bench_report.py --ort "$ORTD"
fi
