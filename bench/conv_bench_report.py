#!/usr/bin/env python3
"""Joins the Graft and PyTorch results of bench/conv_bench.sh by layer and prints per-layer times and ratios.

Ratios are Graft time / PyTorch time (below 1: Graft is faster). "total" sums the medians of every distinct
shape once; the ResNet-18 and ResNet-50 rows weight each shape by how often the network uses it.
"""
import json
import sys


def main(graft_path, torch_path):
    g = json.load(open(graft_path))
    t = json.load(open(torch_path))
    tl = {r["layer"]: r for r in t["layers"]}
    missing = [r["layer"] for r in g["layers"] if r["layer"] not in tl]
    extra = [l for l in tl if l not in {r["layer"] for r in g["layers"]}]
    if missing or extra:
        print("shape lists differ: only in graft %s, only in torch %s" % (missing, extra))
    print("%-24s | %8s %8s %8s %8s | %8s %8s %8s | %6s" % ("layer (batch %d)" % g["batch"], "fwd", "bwd-data", "bwd-wt",
                                                            "total", "fwd", "bwd", "total", "ratio"))
    print("%-24s | %35s | %26s |" % ("", "Graft cpu (oneDNN 3.11, NHWC), ms", "PyTorch 1.13 (NCHW), ms"))
    sums = {"all": [0.0, 0.0], "resnet18": [0.0, 0.0], "resnet50": [0.0, 0.0]}
    for r in g["layers"]:
        p = tl.get(r["layer"])
        if p is None:
            continue
        bd = "skipped" if r["bwd_data_ms"] is None else "%.1f" % r["bwd_data_ms"]
        print("%-24s | %8.1f %8s %8.1f %8.1f | %8.1f %8.1f %8.1f | %6.2f" % (
            r["layer"], r["fwd_ms"], bd, r["bwd_weights_ms"], r["total_ms"], p["fwd_ms"], p["bwd_ms"], p["total_ms"],
            r["total_ms"] / p["total_ms"]))
        sums["all"][0] += r["total_ms"]
        sums["all"][1] += p["total_ms"]
        sums["resnet18"][0] += r["in_resnet18"] * r["total_ms"]
        sums["resnet18"][1] += r["in_resnet18"] * p["total_ms"]
        sums["resnet50"][0] += r["in_resnet50"] * r["total_ms"]
        sums["resnet50"][1] += r["in_resnet50"] * p["total_ms"]
    print()
    for key, label in [("all", "total, each distinct shape once"), ("resnet18", "ResNet-18 convs (weighted by use)"),
                       ("resnet50", "ResNet-50 convs (weighted by use)")]:
        a, b = sums[key]
        print("%-36s Graft %9.1f ms  PyTorch %9.1f ms  ratio Graft/PyTorch %.3f" % (label, a, b, a / b))
    print("background CPU from other processes during the runs: graft %.2f, torch %.2f" % (g["others_cpu"], t["others_cpu"]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
