#!/usr/bin/env python3
"""Joins bench/out/inference_graft.json and inference_torch.json: medians side by side, ratio Graft / PyTorch
(below 1: Graft is faster)."""
import json
import sys


def load(path):
    with open(path) as f:
        d = json.load(f)
    return {(r["arch"], r["what"]): r for r in d["results"]}, d


graft, gd = load(sys.argv[1])
torch, td = load(sys.argv[2])
print("%-9s %-16s | %10s %8s %8s | %10s %8s %8s | %6s" % ("arch", "what", "Graft ms", "p10", "p90", "torch ms", "p10", "p90",
                                                           "ratio"))
for key in graft:
    g = graft[key]
    t = torch.get(key) or (torch.get((key[0], "forward")) if key[1] == "forward-unfused" else None)
    ratio = "%6.2f" % (g["median_ms"] / t["median_ms"]) if t else "     -"
    tm = ("%10.2f %8.2f %8.2f" % (t["median_ms"], t["p10_ms"], t["p90_ms"])) if t else "%10s %8s %8s" % ("-", "", "")
    print("%-9s %-16s | %10.2f %8.2f %8.2f | %s | %s" % (key[0], key[1], g["median_ms"], g["p10_ms"], g["p90_ms"], tm, ratio))
print("background CPU from other processes: graft %s, torch %s" % (
    ", ".join("%.2f" % r["bg_cpu"] for r in graft.values()), ", ".join("%.2f" % r["bg_cpu"] for r in torch.values())))
print("torch %s, %d threads, batch %d" % (td.get("torch"), td.get("threads"), td.get("batch")))
