#!/usr/bin/env python3
"""Parity check of bench/inference_bench.sh's ONNX Runtime section: the lines the runtimes printed for one image
(IMAGE, label, probability, logits comma-separated; tab-separated) must agree with a reference's.

  parity.py WHAT RTOL REF_NAME REF_LINE NAME LINE [NAME LINE ...]

Each side's logits l against the reference's r: max|l - r| / max|r| <= RTOL (relative to the largest logit, not
element by element: a logit near zero would make an element-wise ratio meaningless), and the same label. Exit status
1 if any side differs.
"""
import sys


def parse(line):
    f = line.strip().split("\t")
    if len(f) < 4:
        sys.exit("parity: expected IMAGE<TAB>LABEL<TAB>PROBABILITY<TAB>LOGITS, got %r" % line)
    return f[1], [float(v) for v in f[3].split(",")]


what, rtol, ref_name = sys.argv[1], float(sys.argv[2]), sys.argv[3]
r_label, r = parse(sys.argv[4])
scale = max(abs(v) for v in r) or 1.0
ok = True
for name, line in zip(sys.argv[5::2], sys.argv[6::2]):
    label, l = parse(line)
    err = max(abs(a - b) for a, b in zip(l, r)) / scale if len(l) == len(r) else float("inf")
    good = err <= rtol and label == r_label
    ok &= good
    print("# parity %-22s %-11s vs %s: max rel. diff %.2e (limit %.0e), label %s / %s  %s" % (
        what, name, ref_name, err, rtol, label, r_label, "ok" if good else "MISMATCH"))
sys.exit(0 if ok else 1)
