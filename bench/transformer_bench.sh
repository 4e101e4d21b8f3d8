#!/usr/bin/env bash
# Side-by-side transformer benchmark: DeiT-S and Swin-T at 224x224, Graft's cpu backend (oneDNN) against PyTorch 1.13
# (Debian's /usr/bin/python3), 2 threads each (OMP_NUM_THREADS=2, torch.set_num_threads(2)):
#   train  fine-tuning step at batch 32: train mode (Swin-T's stochastic depth 0.2; DeiT-S has no dropout),
#          cross-entropy, backward, AdamW(lr 1e-4, weight decay 0.05) over all parameters;
#   infer  batch-1 forward, eval mode, no gradients.
# Both sides build the architecture at random initialisation (2 classes): Graft from ViTConfig deit_s / SwinConfig
# swin_t (dev.graft.cli.bench.TransformerBench), PyTorch torchvision's VisionTransformer with DeiT-S's shape and
# swin_t (bench/transformer_bench_torch.py). Every configuration runs in its own process (peak RSS is that process's)
# under `flock /tmp/bench.lock` once the load average is below $QUIET_LOAD (bench/quiet.sh); sides alternate per
# configuration for $ROUNDS rounds and the report keeps each side's median round. Not a test; run by hand:
#
#   bench/transformer_bench.sh [--arch deit_s,swin_t] [--only train,infer] [--batch 32] [--rounds 3] [--profile] [--quick]
#
# --quick: 1 warm-up and 1 timed iteration, no waiting (checks that everything runs; figures mean nothing).
# --profile: also prints Graft's time per backend kernel and torch.autograd.profiler's table for each run.
# Builds from this checkout in one reactor invocation (no `mvn install`; MVN_FLAGS=-o to stay offline).
# Results: bench/out/transformer/ (ignored by git): one JSON per side, configuration and round, transformer_bench.json,
# and the table on stdout (bench/transformer_bench_report.py prints it again).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHS=deit_s,swin_t; ONLY=train,infer; BATCH=32; ROUNDS=${ROUNDS:-3}; PROFILE=""; QUICK=""; SIZE=224
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) ARCHS=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --batch) BATCH=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --image-size) SIZE=$2; shift 2 ;;
        --profile) PROFILE=--profile; shift ;;
        --quick) QUICK=1; shift ;;
        *) echo "transformer_bench.sh: unknown option $1 (see the header of this script)" >&2; exit 2 ;;
    esac
done
THREADS=${THREADS:-2}
OUT=bench/out/transformer
mkdir -p "$OUT"
. bench/quiet.sh
if [ -n "$QUICK" ]; then
    LOOP=(--warmup 1 --iters 1 --min-time 0); ROUNDS=1; QUIET_WAIT_S=0
else
    LOOP=(--warmup 2 --iters 5 --min-time 10)
fi

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $THREADS threads"
# One reactor build: the sibling modules' jars come from this checkout's target/ folders, nothing from ~/.m2's dev.graft.
flock -s /tmp/bench.lock mvn -q -B ${MVN_FLAGS:-} -pl cli -am package -DskipTests dependency:build-classpath \
    -Dmdep.outputFile=target/graft-classpath.txt -Dmdep.includeScope=runtime
# A snapshot of the compiled classes, so rebuilding while the benchmark waits or runs changes nothing.
rm -rf "$OUT/classes"
CP=""
for m in engine models loaders runtime cli; do
    mkdir -p "$OUT/classes/$m"
    cp -r "$m/target/classes/." "$OUT/classes/$m/"
    CP="$CP:$OUT/classes/$m"
done
CP="${CP#:}:$(tr -d '\n' < cli/target/graft-classpath.txt | tr ':' '\n' | grep -v "^$PWD/" | paste -sd: -)"

RUNS=()
for rnd in $(seq "$ROUNDS"); do
    for arch in ${ARCHS//,/ }; do
        for kind in ${ONLY//,/ }; do
            b=$BATCH; [ "$kind" = infer ] && b=1
            for side in graft torch; do
                out="$OUT/${side}_${arch}_${kind}_b${b}_round${rnd}.json"
                rm -f "$out"
                [ -z "$QUICK" ] && wait_quiet
                args=(--arch "$arch" --kind "$kind" --batch "$b" --image-size "$SIZE" "${LOOP[@]}" --out "$out" $PROFILE)
                if [ "$side" = graft ]; then
                    flock -x /tmp/bench.lock env OMP_NUM_THREADS="$THREADS" java -Xmx8g -XX:+UseParallelGC \
                        -Dorg.bytedeco.javacpp.nopointergc=true -cp "$CP" dev.graft.cli.bench.TransformerBench "${args[@]}" \
                        || echo "FAILED: graft ${args[*]}"
                else
                    flock -x /tmp/bench.lock env OMP_NUM_THREADS="$THREADS" /usr/bin/python3 bench/transformer_bench_torch.py \
                        --threads "$THREADS" "${args[@]}" | grep -v '^RESULT ' || echo "FAILED: torch ${args[*]}"
                fi
                [ -f "$out" ] && RUNS+=("$out")
            done
        done
    done
done
echo
python3 bench/transformer_bench_report.py --write "$OUT/transformer_bench.json" "${RUNS[@]}"
