#!/usr/bin/env bash
# Side-by-side training benchmark: `graft bench` (cpu backend, oneDNN) against the same work in PyTorch 1.13
# (Debian's /usr/bin/python3, torch.set_num_threads(2)) on ResNet-18/50 at 224x224: full fine-tuning step,
# frozen-backbone step (batch-norm policy HOLD; PyTorch also as its transfer-learning tutorial does it), one
# epoch of head training on cached features, inference at batch 1 and 32. Every configuration runs in its own
# process under `flock /tmp/bench.lock` once other processes use less than 0.25 CPU; peak RSS is that process's.
# Not a test; run by hand from the repository root:
#
#   bench/train_bench.sh [--arch resnet18,resnet50] [--batch 32] [--image-size 224] [--only train,frozen,cached,infer]
#                        [--channels-last]
#
# Results: bench/out/train/ (ignored by git): one JSON per side and configuration, train_bench.json, and the table
# on stdout (bench/train_bench_report.py prints it again from the JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"
. bench/build.sh
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
# test-compile, not compile: models and cli depend on the engine's test jar (test scope), which the reactor only
# resolves once test classes exist, and build-classpath resolves every scope.
bench_build cli test-compile runtime > "$OUT/cli-classpath.txt"
# A snapshot of the compiled classes, so rebuilding while the benchmark waits or runs changes nothing. The
# sibling modules come from these class folders (bench_build leaves the checkout's own entries out).
rm -rf "$OUT/train-classes"
CP=""
for m in engine models loaders runtime cli; do
    mkdir -p "$OUT/train-classes/$m"
    cp -r "$m/target/classes/." "$OUT/train-classes/$m/"
    CP="$CP:$OUT/train-classes/$m"
done
CP="${CP#:}:$(cat "$OUT/cli-classpath.txt")"
exec python3 bench/train_bench.py --graft-cp "$CP" "$@"
