#!/usr/bin/env bash
# Side-by-side convolution benchmark: Graft's cpu backend (oneDNN through JavaCPP) against PyTorch on every
# distinct ResNet-18/50 convolution at batch 32, 224x224: forward + backward-data + backward-weights
# (backward-data skipped for the stem on both sides). Not a test; run by hand from the repository root:
#
#   bench/conv_bench.sh [--batch 32] [--iters 5] [--warmup 2] [--only '3x3']
#
# Each side runs under `flock $BENCH_LOCK`, default /tmp/bench.lock (shared with the other benchmarks on this machine) after the
# 1-minute load average has fallen below $QUIET_LOAD (default 0.5; gives up waiting after $QUIET_WAIT_S s).
# Both sides use 2 threads (OMP_NUM_THREADS=2 for oneDNN, torch.set_num_threads(2)). Results go to
# bench/out/ (ignored by git): conv_graft.json, conv_torch.json, and the joined table on stdout. It builds what it
# needs from this checkout (bench/build.sh: one reactor run, nothing installed; MVN_ARGS=-o to stay offline).
# Plumbing check, figures meaningless: QUIET_WAIT_S=0 bench/conv_bench.sh --batch 2 --warmup 0 --iters 1 --only '3x3/1 @56'
set -euo pipefail
cd "$(dirname "$0")/.."
ARGS=("$@")
THREADS=${THREADS:-2}
QUIET_LOAD=${QUIET_LOAD:-0.5}
QUIET_WAIT_S=${QUIET_WAIT_S:-600}
OUT=bench/out
mkdir -p "$OUT"

. bench/quiet.sh
. bench/build.sh

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
bench_build engine test-compile test > "$OUT/classpath.txt"
# A snapshot of the compiled classes, so rebuilding the engine while the benchmark waits or runs changes nothing.
rm -rf "$OUT/classes" "$OUT/test-classes" "$OUT/test-support-classes"
cp -r engine/target/classes "$OUT/classes"
cp -r engine/target/test-classes "$OUT/test-classes"
cp -r test-support/target/classes "$OUT/test-support-classes"
CP="$OUT/test-classes:$OUT/classes:$OUT/test-support-classes:$(cat "$OUT/classpath.txt")"

wait_quiet
echo "# graft: load $(cut -d' ' -f1-3 /proc/loadavg)"
flock "$BENCH_LOCK" env OMP_NUM_THREADS="$THREADS" java -Xmx2g -Dorg.bytedeco.javacpp.nopointergc=true \
    -cp "$CP" dev.graft.engine.bench.ConvBench "${ARGS[@]}" --out "$OUT/conv_graft.json"

wait_quiet
echo "# torch: load $(cut -d' ' -f1-3 /proc/loadavg)"
flock "$BENCH_LOCK" /usr/bin/python3 bench/conv_bench_torch.py --threads "$THREADS" "${ARGS[@]}" --out "$OUT/conv_torch.json"

echo
python3 bench/conv_bench_report.py "$OUT/conv_graft.json" "$OUT/conv_torch.json"
