#!/usr/bin/env bash
# End-to-end benchmark of the seed recipe on X-ray-sized JPEGs: `graft train` (with its decoded-image cache on and
# off) against the same recipe in PyTorch as its transfer-learning tutorial writes it (bench/recipe_bench_torch.py:
# torchvision ImageFolder + DataLoader(num_workers=2), torch.set_num_threads(2), fp32). Both start from the same
# randomly initialised torchvision ResNet-18 file, train a new 2-class head for 1 epoch on the frozen backbone, then
# fine-tune everything for 3 epochs at 224 px with Graft's default augmentation (random resized crop 75-100%, flip,
# +-10 degree rotation), validating after every epoch. Reported: wall time of each whole process (JVM or Python
# start to exit; Graft's build is done before timing), peak RSS, and Graft / PyTorch ratios. Not a test.
#
#   bench/recipe_bench.sh [--train 400] [--val 100] [--width 1400] [--height 1100] [--head-epochs 1]
#                         [--finetune-epochs 3] [--batch 32] [--threads 2] [--workers 2] [--seed 0]
#                         [--only graft-cache,graft-nocache,torch]
#   bench/recipe_bench.sh --train 16 --val 4 --width 320 --height 260 --finetune-epochs 1     # a smoke run
#
# Needs Java 17 + Maven (the ./graft launcher builds Graft on first use; nothing is installed into ~/.m2) and
# /usr/bin/python3 (or $PYTHON) with torch, torchvision, PIL and numpy (Debian: python3-torch python3-torchvision
# python3-pil python3-numpy). The images are generated here (bench/recipe_bench_data.py, seeded) into bench/out/recipe/
# (ignored by git) and kept for later runs with the same parameters. Each arm runs alone under
# `flock /tmp/bench.lock` (the other bench scripts' lock); the 1-minute load average before each is printed.
# Results: bench/out/recipe/recipe_bench.json, the logs beside it, and the table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
TRAIN=400 VAL=100 WIDTH=1400 HEIGHT=1100 HEAD=1 FT=3 BATCH=32 THREADS=2 WORKERS=2 SEED=0
ONLY=graft-cache,graft-nocache,torch
while [ $# -gt 0 ]; do
    case "$1" in
        --train) TRAIN=$2 ;; --val) VAL=$2 ;; --width) WIDTH=$2 ;; --height) HEIGHT=$2 ;;
        --head-epochs) HEAD=$2 ;; --finetune-epochs) FT=$2 ;; --batch) BATCH=$2 ;; --threads) THREADS=$2 ;;
        --workers) WORKERS=$2 ;; --seed) SEED=$2 ;; --only) ONLY=$2 ;;
        *) echo "recipe_bench.sh: unknown option $1 (see the comment at the top)" >&2; exit 2 ;;
    esac
    shift 2
done
OUT=bench/out/recipe
mkdir -p "$OUT/runs"
"$PY" -c "import torch, torchvision, PIL, numpy" 2>/dev/null || {
    echo "recipe_bench.sh: $PY lacks torch, torchvision, PIL or numpy (Debian: apt-get install python3-torch python3-torchvision python3-pil python3-numpy; or set PYTHON)" >&2
    exit 1
}
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo "# building Graft (./graft builds on first use) ..."
./graft --version

DATA="$OUT/data-${TRAIN}+${VAL}-${WIDTH}x${HEIGHT}-s${SEED}"
if [ ! -f "$DATA/.complete" ]; then
    rm -rf "$DATA"
    "$PY" bench/recipe_bench_data.py --out "$DATA" --train "$TRAIN" --val "$VAL" --width "$WIDTH" --height "$HEIGHT" --seed "$SEED"
    touch "$DATA/.complete"
fi
WEIGHTS="$OUT/resnet18-random-s${SEED}.pth"
if [ ! -f "$WEIGHTS" ]; then
    "$PY" -c "import sys, torch, torchvision; torch.manual_seed(int(sys.argv[2])); torch.save(torchvision.models.resnet18().state_dict(), sys.argv[1])" \
        "$WEIGHTS" "$SEED"
fi

RESULTS="$OUT/results.tsv"
: > "$RESULTS"
# run NAME COMMAND...: times one process under the lock, its output in $OUT/NAME.log.
run() {
    local name=$1
    shift
    rm -rf "$OUT/runs/$name"
    echo "# $name: load average $(cut -d' ' -f1 /proc/loadavg) before the run"
    local t0 t1
    t0=$(date +%s%N)
    if ! flock /tmp/bench.lock /usr/bin/time -f "peak_rss_kb %M" "$@" > "$OUT/$name.log" 2>&1; then
        echo "recipe_bench.sh: $name failed; the end of $OUT/$name.log:" >&2
        tail -n 30 "$OUT/$name.log" >&2
        exit 1
    fi
    t1=$(date +%s%N)
    local rss
    rss=$(grep -o 'peak_rss_kb [0-9]*' "$OUT/$name.log" | tail -n 1 | cut -d' ' -f2)
    printf '%s\t%s\t%s\n' "$name" "$(( (t1 - t0) / 1000000 ))" "${rss:-0}" >> "$RESULTS"
    grep -E '^image cache:|^epoch [0-9]+ \(|^[a-z]+ +epoch +[0-9]' "$OUT/$name.log" | sed "s/^/#   /" || true
}

graft_arm() { # NAME CACHE
    rm -rf "$OUT/cache-$1"
    run "$1" env OMP_NUM_THREADS="$THREADS" ./graft train --data "$DATA" --weights "$WEIGHTS" --out "$OUT/runs/$1" \
        --head-epochs "$HEAD" --finetune-epochs "$FT" --batch-size "$BATCH" --workers "$WORKERS" --seed "$SEED" \
        --device cpu --no-progress --cache "$2" --cache-dir "$OUT/cache-$1"
}
for arm in ${ONLY//,/ }; do
    case "$arm" in
        graft-cache) graft_arm graft-cache auto ;;
        graft-nocache) graft_arm graft-nocache off ;;
        torch) run torch "$PY" bench/recipe_bench_torch.py --data "$DATA" --weights "$WEIGHTS" --out "$OUT/runs/torch" \
                   --head-epochs "$HEAD" --finetune-epochs "$FT" --batch "$BATCH" --workers "$WORKERS" --threads "$THREADS" --seed "$SEED" ;;
        *) echo "recipe_bench.sh: unknown arm $arm (graft-cache, graft-nocache, torch)" >&2; exit 2 ;;
    esac
done

"$PY" - "$RESULTS" "$OUT/recipe_bench.json" "$TRAIN" "$VAL" "$WIDTH" "$HEIGHT" "$HEAD" "$FT" "$BATCH" "$THREADS" "$WORKERS" <<'EOF'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
res = {r[0]: {"wall_s": int(r[1]) / 1000, "peak_rss_mib": int(r[2]) / 1024} for r in rows}
keys = ["train", "val", "width", "height", "head_epochs", "finetune_epochs", "batch", "threads", "workers"]
setup = dict(zip(keys, map(int, sys.argv[3:])))
torch = res.get("torch")
print("\nrecipe: %(train)d train + %(val)d val JPEGs at about %(width)dx%(height)d, ResNet-18 at 224, %(head_epochs)d frozen + "
      "%(finetune_epochs)d fine-tuning epochs, batch %(batch)d, %(threads)d compute threads, %(workers)d loader workers" % setup)
print("%-14s %10s %14s %16s" % ("arm", "wall s", "peak RSS MiB", "vs PyTorch"))
for name, r in res.items():
    ratio = "%.2f" % (r["wall_s"] / torch["wall_s"]) if torch and name != "torch" else ""
    print("%-14s %10.1f %14.0f %16s" % (name, r["wall_s"], r["peak_rss_mib"], ratio))
if "graft-cache" in res and "graft-nocache" in res:
    print("cache on / off: %.2f" % (res["graft-cache"]["wall_s"] / res["graft-nocache"]["wall_s"]))
json.dump({"setup": setup, "results": res}, open(sys.argv[2], "w"), indent=2)
EOF
