#!/usr/bin/python3
"""Independent check of the demo label CSVs (run from the repository root: /usr/bin/python3 demo/fashion/chexpert/check.py).

Counts each label's 1.0 / 0.0 / -1.0 / blank cells and the patients with Python's csv module, and re-derives every
1.0/0.0 from the image's pixels (PIL + numpy) by the rules in DemoLabels: Shirt = the shirt class folder, Bright = mean
grey >= 100, Large = at least 486 of 784 pixels non-zero, Patterned = population std of the non-zero pixels >= 60.
DemoLabelsTest holds the counts printed here.
"""
import csv
import numpy as np
from PIL import Image

for name in ["train.csv", "valid.csv"]:
    with open("demo/fashion/chexpert/" + name, newline="") as f:
        rows = list(csv.DictReader(f))
    labels = ["Shirt", "Bright", "Large", "Patterned"]
    out = []
    for lab in labels:
        vals = [r[lab] for r in rows]
        out.append(f"{lab} {vals.count('1.0')}/{vals.count('0.0')}/{vals.count('-1.0') + vals.count('')}")
    for r in rows:
        a = np.asarray(Image.open("demo/fashion/" + r["Path"])).astype(np.int64)
        nz = a[a > 0]
        truth = {"Shirt": "/shirt/" in r["Path"], "Bright": a.mean() >= 100, "Large": (a > 0).sum() >= 486,
                 "Patterned": nz.size > 0 and nz.std() >= 60}
        for lab in labels:
            if r[lab] in ("1.0", "0.0"):
                assert (r[lab] == "1.0") == bool(truth[lab]), (name, r["Path"], lab)
    shirt = [r["Shirt"] for r in rows]
    ones = f"{shirt.count('1.0') + shirt.count('-1.0')}/{shirt.count('0.0') + shirt.count('')}/0"
    print(name, len(rows), "rows,", len({r['Patient'] for r in rows}), "patients;", ", ".join(out), "; Shirt U-Ones", ones)
