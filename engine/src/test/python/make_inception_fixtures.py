#!/usr/bin/python3
"""Writes two fixtures for InceptionOpValuesTest, with Debian's python3-torch / python3-torchvision (torch 1.13,
torchvision 0.14):

    /usr/bin/python3 engine/src/test/python/make_inception_fixtures.py

../resources/fixtures/inception_op_values.txt (ForwardValuesTest's format: name|shape|values, float64 repr):
avg_pool2d 3x3 stride 1 padding 1 and a 3x2 / stride (2, 1) / padding (1, 1) window, count_include_pad True and
False, forward and input gradient; 1x7 (padding (0, 3)) and 3x1 (padding (1, 0)) convolutions with all gradients.

../resources/fixtures/inception_a.txt: torchvision's InceptionA(192, pool_features=32) (Mixed_5b's shapes) in eval
mode and float64, with random weights and batch-norm statistics, on a [1, 192, 5, 5] input. One tensor a line:
name|shape|encoding|base64 data. Encoding i1: int8 values times 2^-9 (conv weights and the input: exact in
float32 and float64, and 4x smaller than text); f8: little-endian float64 (bn vectors and the output).
"""
import base64
import os

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.models.inception import InceptionA

torch.manual_seed(20261207)
torch.set_default_dtype(torch.float64)
here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "resources", "fixtures")
header = f"# Made by engine/src/test/python/make_inception_fixtures.py with torch {torch.__version__}; do not edit.\n"

rows = []


def put(name, t):
    t = torch.as_tensor(t, dtype=torch.float64).detach()
    shape = ",".join(str(d) for d in t.shape)
    rows.append(f"{name}|{shape}|" + " ".join(repr(v) for v in t.reshape(-1).tolist()))


def leaf(name, *shape):
    t = (torch.rand(*shape) * 2 - 1).requires_grad_(True)
    put(name, t)
    return t


for include in (True, False):
    tag = "incl" if include else "excl"
    # Inception's branch pool: 3x3 stride 1 padding 1 (the border windows hold 4 or 6 of 9 cells).
    x = leaf(f"avg3.{tag}.x", 2, 3, 5, 6)
    y = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=include)
    g = torch.rand(y.shape) * 2 - 1
    put(f"avg3.{tag}.y", y)
    put(f"avg3.{tag}.g", g)
    y.backward(g)
    put(f"avg3.{tag}.dx", x.grad)
    # A rectangular window with stride (2, 1) and padding on both axes.
    x = leaf(f"avgr.{tag}.x", 1, 2, 6, 5)
    y = F.avg_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1), count_include_pad=include)
    g = torch.rand(y.shape) * 2 - 1
    put(f"avgr.{tag}.y", y)
    put(f"avgr.{tag}.g", g)
    y.backward(g)
    put(f"avgr.{tag}.dx", x.grad)

for name, kernel, padding in (("conv1x7", (1, 7), (0, 3)), ("conv3x1", (3, 1), (1, 0))):
    x = leaf(f"{name}.x", 2, 3, 4, 9)
    w = leaf(f"{name}.w", 4, 3, *kernel)
    b = leaf(f"{name}.b", 4)
    y = F.conv2d(x, w, b, padding=padding)
    g = torch.rand(y.shape) * 2 - 1
    put(f"{name}.y", y)
    put(f"{name}.g", g)
    y.backward(g)
    put(f"{name}.dx", x.grad)
    put(f"{name}.dw", w.grad)
    put(f"{name}.db", b.grad)

with open(os.path.join(fixtures, "inception_op_values.txt"), "w") as f:
    f.write(header + "\n".join(rows) + "\n")

# ---- InceptionA -----------------------------------------------------------------------------------------------
block = InceptionA(192, pool_features=32).double().eval()
lines = []


def int8_scaled(shape):
    q = torch.randint(-127, 128, shape, dtype=torch.int64)
    return q, q.double() / 512


def encode(name, t, q=None):
    shape = ",".join(str(d) for d in t.shape)
    if q is not None:
        data = q.numpy().astype(np.int8).tobytes()
        lines.append(f"{name}|{shape}|i1|" + base64.b64encode(data).decode())
    else:
        data = t.detach().numpy().astype("<f8").tobytes()
        lines.append(f"{name}|{shape}|f8|" + base64.b64encode(data).decode())


with torch.no_grad():
    for name, p in block.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        if name.endswith("conv.weight"):
            q, v = int8_scaled(p.shape)
            p.copy_(v * 8)  # scale 2^-6 overall: int8 / 512 * 8
            encode(name, p, q)
            continue
        if name.endswith("running_var"):
            p.copy_(torch.rand(p.shape) * 1.5 + 0.25)
        elif name.endswith("running_mean"):
            p.copy_(torch.rand(p.shape) * 2 - 1)
        elif name.endswith("bn.weight"):
            p.copy_(torch.rand(p.shape) + 0.5)
        else:  # bn.bias
            p.copy_(torch.rand(p.shape) - 0.5)
        encode(name, p)
    q, x = int8_scaled((1, 192, 5, 5))
    x = x * 4  # uniform in about [-1, 1]
    encode("input", x, q)
    y = block(x)
    encode("output", y)

with open(os.path.join(fixtures, "inception_a.txt"), "w") as f:
    f.write(header.replace("do not edit.", "do not edit. Conv weights: int8 * 2^-6; input: int8 * 2^-7.") + "\n".join(lines) + "\n")
print("wrote", len(rows), "op arrays and", len(lines), "InceptionA tensors")
