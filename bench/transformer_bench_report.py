#!/usr/bin/env python3
"""Prints the side-by-side table of bench/transformer_bench.sh.

    bench/transformer_bench_report.py [--write SUMMARY.json] RUN.json...   (one JSON per side, configuration, round)
    bench/transformer_bench_report.py SUMMARY.json                          (again from the summary)

Per side and configuration the round with the median img/s stands (peak RSS: the largest of the rounds). Targets
(issue 11): a fine-tuning step at batch 32 with Graft's throughput >= 1.0x PyTorch's; batch-1 inference latency
<= 0.8x PyTorch's; peak RSS printed beside PyTorch's.
"""
import json
import sys


def summarise(runs):
    by = {}
    for r in runs:
        by.setdefault((r["side"], r["config"]), []).append(r)
    results = []
    for (side, config), rs in by.items():
        rs = sorted(rs, key=lambda r: r["img_per_s_median"])
        rep = dict(rs[(len(rs) - 1) // 2])
        rep.pop("times_s", None)
        rep["rounds_img_per_s"] = [r["img_per_s_median"] for r in rs]
        rep["peak_rss_mib"] = max(r["peak_rss_mib"] for r in rs)
        rep["others_cpu_per_wall"] = max(r["others_cpu_per_wall"] for r in rs)
        results.append(rep)
    return results


def main(argv):
    write = None
    if argv[:1] == ["--write"]:
        write, argv = argv[1], argv[2:]
    docs = [json.load(open(p)) for p in argv]
    if len(docs) == 1 and "results" in docs[0]:
        results = docs[0]["results"]
    else:
        results = summarise(docs)
        if write:
            with open(write + ".tmp", "w") as f:
                json.dump({"results": results}, f, indent=1)
            import os
            os.replace(write + ".tmp", write)
    by = {(r["side"], r["config"]): r for r in results}
    configs = sorted({r["config"] for r in results})
    head = "%-18s | %9s %9s | %9s %9s | %-34s | %7s %7s | %s" % (
        "config", "Graft", "ms", "PyTorch", "ms", "ratio vs target", "RSS G", "RSS T", "bg CPU G/T")
    print("img/s (median iteration of the median round), peak RSS in MiB, each configuration in its own process")
    print(head)
    print("-" * len(head))
    noisy = []
    for c in configs:
        g, t = by.get(("graft", c)), by.get(("torch", c))
        if g is None or t is None:
            print("%-18s | missing side: %s" % (c, "graft" if g is None else "torch"))
            continue
        if g["kind"] == "train":
            ratio = g["img_per_s_median"] / t["img_per_s_median"]
            verdict = "throughput %.2fx (>= 1.0x: %s)" % (ratio, "met" if ratio >= 1.0 else "MISSED")
        else:
            ratio = g["median_s"] / t["median_s"]
            verdict = "latency %.2fx (<= 0.8x: %s)" % (ratio, "met" if ratio <= 0.8 else "MISSED")
        print("%-18s | %9.2f %9.1f | %9.2f %9.1f | %-34s | %7.0f %7.0f | %.2f / %.2f" % (
            c, g["img_per_s_median"], g["median_s"] * 1e3, t["img_per_s_median"], t["median_s"] * 1e3, verdict,
            g["peak_rss_mib"], t["peak_rss_mib"], g["others_cpu_per_wall"], t["others_cpu_per_wall"]))
        noisy += [s + " " + c for s, r in (("graft", g), ("torch", t)) if r["others_cpu_per_wall"] > 0.15]
    if noisy:
        print("\nNOISY (other processes used > 0.15 CPU during the timed loop; figures not comparable): " + ", ".join(noisy))


if __name__ == "__main__":
    main(sys.argv[1:])
