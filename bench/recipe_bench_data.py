#!/usr/bin/python3
"""Synthetic chest-X-ray-like ImageFolder for bench/recipe_bench.sh (not medical data, only its shape and cost).

    /usr/bin/python3 bench/recipe_bench_data.py --out DIR [--train 400] [--val 100] [--width 1400] [--height 1100] [--seed 0]

Writes DIR/{train,val}/{NORMAL,PNEUMONIA}/NNNN.jpeg: 8-bit grayscale baseline JPEGs (quality 90), each about
width x height (+-4%, so sizes vary as scans do): smooth low-frequency noise, two dark ellipses ("lungs"), a bright
vertical band ("spine") and film grain; PNEUMONIA images also get a few soft bright blobs in the lungs, so the two
classes can be told apart. Deterministic for a seed (numpy's PCG64 per image). Half the images of each split per class.
"""
import argparse
import os

import numpy as np
from PIL import Image


def image(rng, w, h, sick):
    # Smooth noise: a coarse random grid upsampled bicubically.
    coarse = Image.fromarray((rng.random((12, 15)) * 255).astype(np.uint8), "L").resize((w, h), Image.BICUBIC)
    base = np.asarray(coarse, dtype=np.float32) / 255.0 * 0.25 + 0.3
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx / w, yy / h
    for cx in (0.3 + rng.normal(0, 0.02), 0.7 + rng.normal(0, 0.02)):
        d = ((u - cx) / 0.17) ** 2 + ((v - 0.52) / 0.3) ** 2
        base -= 0.22 * np.exp(-d ** 2)
    base += 0.3 * np.exp(-((u - 0.5) / 0.035) ** 2)
    if sick:
        for _ in range(rng.integers(2, 5)):
            bx, by = rng.choice([0.3, 0.7]) + rng.normal(0, 0.06), 0.5 + rng.normal(0, 0.12)
            r = rng.uniform(0.04, 0.09)
            base += 0.18 * np.exp(-(((u - bx) ** 2 + (v - by) ** 2) / r ** 2))
    base += rng.normal(0, 0.02, size=base.shape).astype(np.float32)
    return Image.fromarray((np.clip(base, 0, 1) * 255).astype(np.uint8), "L")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", type=int, default=400)
    ap.add_argument("--val", type=int, default=100)
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    n = 0
    for split, count in (("train", a.train), ("val", a.val)):
        for c, name in enumerate(("NORMAL", "PNEUMONIA")):
            d = os.path.join(a.out, split, name)
            os.makedirs(d, exist_ok=True)
            for i in range(count // 2 + (count % 2 if c == 0 else 0)):
                rng = np.random.default_rng([a.seed, 0 if split == "train" else 1, c, i])
                w = int(a.width * rng.uniform(0.96, 1.04))
                h = int(a.height * rng.uniform(0.96, 1.04))
                image(rng, w, h, c == 1).save(os.path.join(d, "%04d.jpeg" % i), quality=90)
                n += 1
    print("wrote %d images to %s" % (n, a.out))


if __name__ == "__main__":
    main()
