#!/usr/bin/env python3
"""Parity check of bench/inference_bench.sh's ONNX Runtime section: the lines PyTorch, Graft's runtime and ONNX
Runtime printed for one image (IMAGE, label, probability, logits comma-separated; tab-separated) must agree.

  parity.py ARCH RTOL TORCH_LINE GRAFT_LINE ORT_LINE

Each side's logits l against PyTorch's t: max|l - t| / max|t| <= RTOL (relative to the largest logit, not element by
element: a logit near zero would make an element-wise ratio meaningless), and the same label. Exit status 1 if not.
"""
import sys


def parse(line):
    f = line.strip().split("\t")
    if len(f) < 4:
        sys.exit("parity: expected IMAGE<TAB>LABEL<TAB>PROBABILITY<TAB>LOGITS, got %r" % line)
    return f[1], [float(v) for v in f[3].split(",")]


arch, rtol = sys.argv[1], float(sys.argv[2])
t_label, t = parse(sys.argv[3])
scale = max(abs(v) for v in t)
ok = True
for name, line in (("graft", sys.argv[4]), ("onnxruntime", sys.argv[5])):
    label, l = parse(line)
    err = max(abs(a - b) for a, b in zip(l, t)) / scale if len(l) == len(t) else float("inf")
    good = err <= rtol and label == t_label
    ok &= good
    print("# parity %-9s %-11s vs torch: max rel. diff %.2e (limit %.0e), label %s / %s  %s" % (
        arch, name, err, rtol, label, t_label, "ok" if good else "MISMATCH"))
sys.exit(0 if ok else 1)
