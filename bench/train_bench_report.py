#!/usr/bin/env python3
"""Prints the side-by-side table of bench/train_bench.sh from its train_bench.json.

Ratios are Graft img/s / PyTorch img/s (above 1: Graft is faster) and Graft peak RSS / PyTorch peak RSS (below 1:
Graft uses less). Targets (the training issue): fine-tuning >= 1.2x; frozen-backbone step (a first frozen epoch)
>= 1.5x the PyTorch tutorial's frozen step; a cached-head epoch >= 10x PyTorch's frozen step; peak memory no
higher than PyTorch's.
"""
import json
import sys


def main(path):
    doc = json.load(open(path))
    by = {(r["side"], r["config"]): r for r in doc["results"]}
    configs = []
    for r in doc["results"]:
        if r["side"] == "graft" and r["config"] not in configs:
            configs.append(r["config"])
    cl = any(side == "torch-cl" for side, _ in by)
    head = "%-16s | %9s %8s | %9s %8s | %6s  %-26s | %7s %7s %6s | %s" % (
        "config", "Graft", "ms", "PyTorch", "ms", "ratio", "target", "RSS G", "RSS T", "ratio", "bg CPU G/T")
    print("%s, %d threads, batch %d, %dx%d, %s" % (doc["machine"], doc["threads"], doc["batch"], doc["image_size"],
                                                 doc["image_size"], doc["date"]))
    rounds = doc.get("rounds", 1)
    print("img/s (median) and peak RSS in MiB, each configuration in its own process" + ("; PyTorch NCHW" if cl else "")
          + ("; the median of %d rounds (RSS: the largest), each round's img/s below" % rounds if rounds > 1 else ""))
    print(head)
    print("-" * len(head))
    for c in configs:
        g = by[("graft", c)]
        kind = g["kind"]
        t = by.get(("torch", c))
        if t is None:
            continue
        ratio = g["img_per_s_median"] / t["img_per_s_median"]
        target = ""
        if kind == "train":
            target = "fine-tune >= 1.2x: %s" % ("met" if ratio >= 1.2 else "MISSED")
        rss_ratio = g["peak_rss_mib"] / t["peak_rss_mib"]
        print("%-16s | %9.2f %8.1f | %9.2f %8.1f | %6.2f  %-26s | %7.0f %7.0f %6.2f | %.2f / %.2f" % (
            c, g["img_per_s_median"], g["median_s"] * 1e3, t["img_per_s_median"], t["median_s"] * 1e3, ratio, target,
            g["peak_rss_mib"], t["peak_rss_mib"], rss_ratio, g["others_cpu_per_wall"], t["others_cpu_per_wall"]))
        if kind == "frozen":
            tt = by.get(("torch", c.replace("_frozen_", "_frozentrack_")))
            if tt:
                r2 = g["img_per_s_median"] / tt["img_per_s_median"]
                print("%-16s | %9s %8s | %9.2f %8.1f | %6.2f  %-26s | %7s %7.0f %6.2f | %4s / %.2f" % (
                    "  vs tutorial", "", "", tt["img_per_s_median"], tt["median_s"] * 1e3, r2,
                    "frozen >= 1.5x: %s" % ("met" if r2 >= 1.5 else "MISSED"), "", tt["peak_rss_mib"],
                    g["peak_rss_mib"] / tt["peak_rss_mib"], "", tt["others_cpu_per_wall"]))
        if kind == "cached":
            f = by.get(("torch", c.replace("_cached_", "_frozentrack_"))) or by.get(("torch", c.replace("_cached_", "_frozen_")))
            if f:
                r3 = g["img_per_s_median"] / f["img_per_s_median"]
                print("%-16s | %9s %8s | %9.2f %8.1f | %6.1f  %-26s |" % (
                    "  vs frozen step", "", "", f["img_per_s_median"], f["median_s"] * 1e3, r3,
                    "cached >= 10x: %s" % ("met" if r3 >= 10 else "MISSED")))
        if cl and ("torch-cl", c) in by:
            tc = by[("torch-cl", c)]
            print("%-16s | %9s %8s | %9.2f %8.1f | %6.2f  %-26s | %7s %7.0f %6.2f | %4s / %.2f" % (
                "  channels_last", "", "", tc["img_per_s_median"], tc["median_s"] * 1e3,
                g["img_per_s_median"] / tc["img_per_s_median"], "", "", tc["peak_rss_mib"],
                g["peak_rss_mib"] / tc["peak_rss_mib"], "", tc["others_cpu_per_wall"]))
    bf = [c for c in configs if ("graft-bf16", c) in by]
    if bf:
        # Targets of the bf16 issue: Graft bf16 >= 1.2x PyTorch's bf16 autocast (the faster of its layouts) and
        # >= 1.7x Graft's own fp32.
        print("\nbf16 fine-tuning: Graft --precision bf16 vs PyTorch bf16 autocast (NCHW, channels_last) and Graft fp32")
        print("%-16s | %9s | %9s %9s | %7s %-14s | %7s %-14s | %7s %7s" % ("config", "Graft bf16", "T bf16", "T bf16 CL",
              "ratio", "target 1.2x", "vs fp32", "target 1.7x", "RSS G", "RSS T"))
        for c in bf:
            g = by[("graft-bf16", c)]
            g32 = by.get(("graft", c))
            tn = by.get(("torch-bf16", c))
            tc = by.get(("torch-bf16-cl", c))
            best = max([t for t in (tn, tc) if t], key=lambda t: t["img_per_s_median"])
            r = g["img_per_s_median"] / best["img_per_s_median"]
            r32 = g["img_per_s_median"] / g32["img_per_s_median"] if g32 else float("nan")
            print("%-16s | %10.2f | %9.2f %9.2f | %7.2f %-14s | %7.2f %-14s | %7.0f %7.0f" % (
                c, g["img_per_s_median"], tn["img_per_s_median"] if tn else float("nan"),
                tc["img_per_s_median"] if tc else float("nan"), r, "met" if r >= 1.2 else "MISSED", r32,
                "met" if r32 >= 1.7 else "MISSED", g["peak_rss_mib"], best["peak_rss_mib"]))
    if rounds > 1:
        print("\nimg/s of every round (graft | torch | torch-cl):")
        for c in configs:
            line = []
            for side in ("graft", "torch", "torch-cl"):
                r = by.get((side, c))
                if r and "rounds" in r:
                    line.append(" ".join("%.2f" % x["img_per_s_median"] for x in r["rounds"]))
            print("  %-16s %s" % (c, " | ".join(line)))
    noisy = [r["side"] + " " + r["config"] for r in doc["results"] if r["others_cpu_per_wall"] > 0.15]
    if noisy:
        print("\nNOISY (other processes used > 0.15 CPU during the timed loop; figures not comparable): " + ", ".join(noisy))


if __name__ == "__main__":
    main(sys.argv[1])
