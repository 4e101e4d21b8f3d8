#!/usr/bin/env python3
"""Joins bench/inference_bench.sh's results.

  inference_bench_report.py GRAFT.json TORCH.json   sections 1: medians side by side, ratio Graft / PyTorch
  inference_bench_report.py --ort DIR               section 5 (bench/out/ort): latency of Graft, PyTorch and ONNX
                                                    Runtime at each batch, cold start, peak RSS and sizes, with the
                                                    ratios Graft / ONNX Runtime and Graft / PyTorch

Ratios below 1: Graft is faster (or smaller).
"""
import glob
import json
import os
import re
import sys


def load(path):
    with open(path) as f:
        d = json.load(f)
    return {(r["arch"], r["what"]): r for r in d["results"]}, d


def two_way(graft_path, torch_path):
    graft, gd = load(graft_path)
    torch, td = load(torch_path)
    print("%-9s %-16s | %10s %8s %8s | %10s %8s %8s | %6s" % ("arch", "what", "Graft ms", "p10", "p90", "torch ms", "p10",
                                                               "p90", "ratio"))
    for key in graft:
        g = graft[key]
        t = torch.get(key) or (torch.get((key[0], "forward")) if key[1] == "forward-unfused" else None)
        ratio = "%6.2f" % (g["median_ms"] / t["median_ms"]) if t else "     -"
        tm = ("%10.2f %8.2f %8.2f" % (t["median_ms"], t["p10_ms"], t["p90_ms"])) if t else "%10s %8s %8s" % ("-", "", "")
        print("%-9s %-16s | %10.2f %8.2f %8.2f | %s | %s" % (key[0], key[1], g["median_ms"], g["p10_ms"], g["p90_ms"], tm, ratio))
    print("background CPU from other processes: graft %s, torch %s" % (
        ", ".join("%.2f" % r["bg_cpu"] for r in graft.values()), ", ".join("%.2f" % r["bg_cpu"] for r in torch.values())))
    print("torch %s, %d threads, batch %d" % (td.get("torch"), td.get("threads"), td.get("batch")))


def ratio(a, b):
    return "%6.2f" % (a / b) if a is not None and b else "     -"


def ort(d):
    print("latency, median ms (p10-p90); ratios below 1: Graft is faster")
    print("%-9s %5s | %-24s | %-24s | %-24s | %9s %9s" % ("arch", "batch", "Graft runtime", "PyTorch", "ONNX Runtime",
                                                        "Graft/ORT", "Graft/PyT"))
    versions = {}
    for gpath in sorted(glob.glob(os.path.join(d, "json", "graft_b*.json")), key=lambda p: int(re.findall(r"_b(\d+)", p)[0])):
        b = re.findall(r"_b(\d+)", gpath)[0]
        graft, _ = load(gpath)
        tpath = os.path.join(d, "json", "torch_b%s.json" % b)
        torch, td = load(tpath) if os.path.exists(tpath) else ({}, {})
        versions["torch"] = td.get("torch")
        for arch in dict.fromkeys(k[0] for k in graft):
            opath = os.path.join(d, "json", "ort_b%s_%s.json" % (b, arch))
            o, od = load(opath) if os.path.exists(opath) else ({}, {})
            versions["onnxruntime"] = od.get("onnxruntime", versions.get("onnxruntime"))
            cells = []
            medians = []
            for side in (graft, torch, o):
                r = side.get((arch, "forward"))
                medians.append(r["median_ms"] if r else None)
                cells.append("%8.2f (%.1f-%.1f)" % (r["median_ms"], r["p10_ms"], r["p90_ms"]) if r else "-")
            print("%-9s %5s | %-24s | %-24s | %-24s | %9s %9s" % (arch, b, cells[0], cells[1], cells[2],
                                                                ratio(medians[0], medians[2]), ratio(medians[0], medians[1])))
            for what in ("forward-bf16", "forward-int8"):  # Graft's low-precision cases against the others' fp32
                r = graft.get((arch, what))
                if r:
                    print("%-9s %5s | %-24s | %-24s | %-24s | %9s %9s" % (
                        "", "", "%s %.2f (%.1f-%.1f)" % (what[8:], r["median_ms"], r["p10_ms"], r["p90_ms"]), "", "",
                        ratio(r["median_ms"], medians[2]), ratio(r["median_ms"], medians[1])))
            bg = [side.get((arch, "forward"), {}).get("bg_cpu") for side in (graft, torch, o)]
            print("%-9s %5s   background CPU from other processes: %s" % ("", "", " / ".join(
                "-" if v is None else "%.2f" % v for v in bg)))
    print("torch %s, onnxruntime %s" % (versions.get("torch"), versions.get("onnxruntime")))

    cold = os.path.join(d, "cold.tsv")
    if os.path.exists(cold):
        rows = {}
        with open(cold) as f:
            for line in f:
                label, first, exit_ms, rss = line.rstrip("\n").split("\t")
                side, arch = label.split(" ", 1)
                rows.setdefault(arch, {})[side] = (float(first), float(exit_ms), int(rss) / 1024)
        print()
        print("cold start to the first printed label (ms) and peak RSS of that process (MiB)")
        print("%-9s | %8s %8s %8s | %9s %9s | %6s %6s %6s | %9s %9s" % (
            "arch", "Graft", "PyTorch", "ORT", "Graft/ORT", "Graft/PyT", "Graft", "PyT", "ORT", "Graft/ORT", "Graft/PyT"))
        for arch, r in rows.items():
            g, t, o = (r.get(s) for s in ("graft", "torch", "onnxruntime"))
            fmt = lambda v, i, w: ("%" + str(w) + ".0f") % v[i] if v else " " * (w - 1) + "-"
            print("%-9s | %s %s %s | %9s %9s | %s %s %s | %9s %9s" % (
                arch, fmt(g, 0, 8), fmt(t, 0, 8), fmt(o, 0, 8),
                ratio(g and g[0], o and o[0]), ratio(g and g[0], t and t[0]),
                fmt(g, 2, 6), fmt(t, 2, 6), fmt(o, 2, 6),
                ratio(g and g[2], o and o[2]), ratio(g and g[2], t and t[2])))

    sizes = os.path.join(d, "sizes.tsv")
    if os.path.exists(sizes):
        print()
        print("artifact sizes")
        with open(sizes) as f:
            for line in f:
                label, n = line.rstrip("\n").split("\t")
                print("%-60s %8.1f MiB" % (label, int(n) / 1048576))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--ort":
        ort(sys.argv[2])
    elif len(sys.argv) == 3:
        two_way(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
