#!/usr/bin/env bash
# The seed's convnets side by side with PyTorch 1.13 (Debian's /usr/bin/python3, 2 threads, NCHW and channels-last:
# the faster PyTorch layout is the one compared), in the same run (issue 12, item 6):
#
#   1. InceptionV3 fine-tuning step (torchvision's inception_v3, auxiliary head trained with weight 0.4 on both
#      sides, SGD momentum 0.9), batch 32, 299x299: throughput, Graft / PyTorch (the issue asks for >= 1.2x);
#   2. CBR-Tiny against ResNet-50: training step at batch 32 and batch-1 inference latency at 224x224, on each side,
#      and how many times cheaper CBR-Tiny is.
#
# Every configuration is a `graft bench` or train_bench_torch.py process of its own, run by bench/train_bench.py
# (under `flock /tmp/bench.lock`, after waiting for a quiet machine; medians of the timed iterations). It builds
# what it needs (mvn compile of the cli module and its dependencies). Run from the repository root:
#
#   bench/inception_bench.sh            # the real run: takes a while (InceptionV3 steps at batch 32 are seconds each)
#   bench/inception_bench.sh --quick    # plumbing check: batch 2, small images for CBR/ResNet, 1 iteration, no waiting;
#                                       # its figures mean nothing
#   bench/inception_bench.sh --rounds 3 # extra options go to train_bench.py (see its --help)
#
# Results: bench/out/inception/{inception,cbr}/train_bench.json and the table from bench/inception_bench_report.py.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out/inception
QUICK=()
I3_BATCH=32
CBR_BATCH=32
CBR_SIZE=224
if [[ "${1:-}" == "--quick" ]]; then
    shift
    QUICK=(--quick)
    I3_BATCH=2
    CBR_BATCH=2
    CBR_SIZE=64
fi
mkdir -p "$OUT"
bench/train_bench.sh --arch inception_v3 --batch "$I3_BATCH" --image-size 299 --only train --channels-last \
    --out "$OUT/inception" "${QUICK[@]}" "$@"
bench/train_bench.sh --arch cbr_tiny,resnet50 --batch "$CBR_BATCH" --image-size "$CBR_SIZE" --only train,infer --channels-last \
    --out "$OUT/cbr" "${QUICK[@]}" "$@"
python3 bench/inception_bench_report.py "$OUT/inception/train_bench.json" "$OUT/cbr/train_bench.json"
