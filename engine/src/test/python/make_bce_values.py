#!/usr/bin/python3
"""Writes ../resources/fixtures/bce_values.txt: inputs and PyTorch's binary cross-entropy with logits (float64) for
BceWithLogitsTest. Run with Debian's python3-torch (torch 1.13):

    /usr/bin/python3 engine/src/test/python/make_bce_values.py

One array per line: name|comma-separated shape|space-separated values (row-major, repr precision, NaN as Java
spells it). NaN targets are
unknown: torch has no mask, so the masked mean is taken as torch does it by hand, loss(reduction='none')[mask].mean().
"""
import os

import torch
import torch.nn as nn

torch.manual_seed(20261207)
torch.set_default_dtype(torch.float64)
rows = []


def put(name, t):
    t = torch.as_tensor(t, dtype=torch.float64).detach()
    shape = ",".join(str(d) for d in t.shape)
    rows.append(f"{name}|{shape}|" + " ".join("NaN" if v != v else repr(v) for v in t.reshape(-1).tolist()))


n, labels = 8, 5
# Logits from moderate to confident (+-40): the stable form must keep the small losses' relative precision.
x = (torch.rand(n, labels) * 2 - 1) * torch.tensor([1.0, 4.0, 12.0, 40.0, 40.0])
y = torch.randint(0, 2, (n, labels)).double()
pw = torch.tensor([1.0, 3.5, 0.25, 2.0, 7.0])
put("bce.x", x)
put("bce.y", y)
put("bce.pos_weight", pw)

# No unknown targets: plain BCEWithLogitsLoss, mean over all N*L elements.
xx = x.clone().requires_grad_(True)
loss = nn.BCEWithLogitsLoss()(xx, y)
loss.backward()
put("bce.plain", loss)
put("bce.plain.dx", xx.grad)
xx = x.clone().requires_grad_(True)
loss = nn.BCEWithLogitsLoss(pos_weight=pw)(xx, y)
loss.backward()
put("bce.weighted", loss)
put("bce.weighted.dx", xx.grad)

# Unknown targets (NaN): mean over the known ones only.
ym = y.clone()
ym[torch.rand(n, labels) < 0.3] = float("nan")
mask = ~torch.isnan(ym)
put("bce.masked_y", ym)
xx = x.clone().requires_grad_(True)
each = nn.BCEWithLogitsLoss(reduction="none", pos_weight=pw)(xx, torch.nan_to_num(ym, nan=0.0))
loss = each[mask].mean()
loss.backward()
put("bce.masked_weighted", loss)
put("bce.masked_weighted.dx", xx.grad)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "bce_values.txt")
with open(out, "w") as f:
    f.write(f"# Made by engine/src/test/python/make_bce_values.py with torch {torch.__version__}; do not edit.\n")
    f.write("\n".join(rows) + "\n")
