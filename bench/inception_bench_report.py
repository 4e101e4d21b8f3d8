#!/usr/bin/env python3
"""Table of bench/inception_bench.sh: InceptionV3 fine-tuning throughput, Graft against PyTorch; CBR-Tiny against
ResNet-50 (training step, batch-1 latency) on each side.

    python3 bench/inception_bench_report.py bench/out/inception/inception/train_bench.json bench/out/inception/cbr/train_bench.json

PyTorch's figure for a configuration is the faster of its NCHW and channels-last runs (which one is printed).
"""
import json
import sys


def load(paths):
    by = {}
    meta = []
    for p in paths:
        with open(p) as f:
            doc = json.load(f)
        meta.append(doc)
        for r in doc["results"]:
            by[(r["side"], r["config"])] = r
    return by, meta


def torch_best(by, config):
    cands = [by[k] for k in (("torch", config), ("torch-cl", config)) if k in by]
    if not cands:
        return None
    return min(cands, key=lambda r: r["median_s"])


def layout(r):
    return "channels-last" if r.get("channels_last") else "NCHW"


def main():
    by, meta = load(sys.argv[1:])
    for doc in meta:
        print("# %s, %s, batch %s, %s px, %s threads, rounds %s" % (doc["date"], doc["machine"], doc["batch"],
                                                                    doc["image_size"], doc["threads"], doc["rounds"]))
    print()
    print("InceptionV3 fine-tuning step (aux weight 0.4), img/s (median):")
    for (side, config), g in sorted(by.items()):
        if side != "graft" or not config.startswith("inception_v3_train"):
            continue
        t = torch_best(by, config)
        print("  %-26s Graft %8.2f   PyTorch %8.2f (%s)   Graft / PyTorch %.2fx   (issue 12 asks >= 1.2x)" % (
            config, g["img_per_s_median"], t["img_per_s_median"], layout(t), g["img_per_s_median"] / t["img_per_s_median"]))
    print()
    print("CBR-Tiny against ResNet-50 (median ms per step or per image):")
    for kind in ("train", "infer_b1"):
        for side in ("graft", "torch"):
            def pick(arch):
                names = [c for (s, c) in by if s == "graft" and c.startswith(arch + "_") and
                         (c.split(arch + "_")[1].startswith("train") if kind == "train" else c.endswith("_infer_b1"))]
                if not names:
                    return None, None
                name = names[0]
                return name, (by.get(("graft", name)) if side == "graft" else torch_best(by, name))
            cn, c = pick("cbr_tiny")
            rn, r = pick("r50")
            if c is None or r is None:
                continue
            label = "Graft" if side == "graft" else "PyTorch"
            print("  %-8s %-7s cbr_tiny %9.1f ms   resnet50 %9.1f ms   ResNet-50 / CBR-Tiny %.1fx%s" % (
                kind, label, c["median_s"] * 1e3, r["median_s"] * 1e3, r["median_s"] / c["median_s"],
                "" if side == "graft" else "   (%s / %s)" % (layout(c), layout(r))))
    if any(doc.get("rounds") == 1 and all(len(x.get("times_s", [0, 0])) <= 1 for x in doc["results"]) for doc in meta):
        print("\n(one timed iteration per configuration: a --quick run; these figures mean nothing)")


if __name__ == "__main__":
    main()
