#!/usr/bin/env python3
"""Joins step 5 of bench/gpu/run-on-device.sh: `graft bench --device cuda` JSON files (graft-*-{exact,fast}.json)
and bench/train_bench_torch.py --device cuda results (torch-<arch>-<kind>[-b<batch>]-{exact,fast}.json) from one
folder, prints img/s side by side with ratios (Graft / PyTorch throughput: above 1, Graft is faster) and writes
everything to --json.

    net_bench_report.py FOLDER [--json OUT]
"""
import argparse
import glob
import json
import os


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--json")
    a = ap.parse_args()

    rows = {}  # (config, math) -> {"graft": result, "torch": result}
    graft_doc = None
    for path in sorted(glob.glob(os.path.join(a.folder, "graft-*.json"))):
        math = "fast" if path.endswith("-fast.json") else "exact"
        doc = load(path)
        graft_doc = graft_doc or {k: v for k, v in doc.items() if k != "results"}
        for r in doc.get("results", []):
            rows.setdefault((r["config"], math), {})["graft"] = r
    for path in sorted(glob.glob(os.path.join(a.folder, "torch-*.json"))):
        r = load(path)
        math = "fast" if r.get("tf32") else "exact"
        rows.setdefault((r["config"], math), {})["torch"] = r

    if not rows:
        print("net_bench_report: no results in " + a.folder)
        raise SystemExit(1)
    gpu = next((v["torch"]["gpu"] for v in rows.values() if "torch" in v and v["torch"].get("gpu")), "?")
    print("GPU %s; Graft: %s" % (gpu, (graft_doc or {}).get("backend", "?")))
    print("%-16s %-6s | %12s %10s | %12s %10s | %7s" % ("config", "math", "Graft img/s", "ms", "torch img/s", "ms",
                                                        "ratio"))
    table = []
    for (config, math), v in sorted(rows.items()):
        g, t = v.get("graft"), v.get("torch")
        gi = g["img_per_s_median"] if g else None
        ti = t["img_per_s_median"] if t else None
        ratio = gi / ti if gi and ti else None
        table.append(dict(config=config, math=math, graft=g, torch=t, ratio_throughput=ratio))

        def fmt(x, f):
            return f % x if x is not None else "-"
        print("%-16s %-6s | %12s %10s | %12s %10s | %7s" % (
            config, "tf32" if math == "fast" else "fp32",
            fmt(gi, "%.1f"), fmt(g["median_s"] * 1e3 if g else None, "%.2f"),
            fmt(ti, "%.1f"), fmt(t["median_s"] * 1e3 if t else None, "%.2f"), fmt(ratio, "%.2f")))
    print("target: ResNet-50 training throughput >= 0.9x PyTorch eager at the same precision")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(gpu=gpu, graft=graft_doc, rows=table), f, indent=1)


if __name__ == "__main__":
    main()
