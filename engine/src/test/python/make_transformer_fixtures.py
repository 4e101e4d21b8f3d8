#!/usr/bin/python3
"""Writes ../resources/fixtures/transformer_op_values.txt for TransformerOpValuesTest and PositionEmbeddingsTest,
with Debian's python3-torch (torch 1.13):

    /usr/bin/python3 engine/src/test/python/make_transformer_fixtures.py

Format as ForwardValuesTest's: name|shape|values (float64 repr), all in float64. Contents: F.layer_norm over the last
axis of a [2, 3, 7] and a [1, 2, 3, 8] input (x, weight, bias, output, a gradient g and the gradients of x, weight and
bias); F.gelu exact and approximate='tanh' on inputs in [-4, 4] (x, y, g, dx); torch.roll with negative and
larger-than-axis shifts (x, y, g, dx); F.pad of an NCHW tensor's W and H and of an NHWC tensor's W and H (x, y, g,
dx); and the position-embedding resize torchvision's interpolate_embeddings does (class token kept, the 4x4 grid
resized bicubically to 6x6 and to 3x3, align_corners True as torchvision does and False as timm does).
"""
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261208)
torch.set_default_dtype(torch.float64)
here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "..", "resources", "fixtures", "transformer_op_values.txt")
rows = [f"# Made by engine/src/test/python/make_transformer_fixtures.py with torch {torch.__version__}; do not edit."]


def put(name, t):
    t = torch.as_tensor(t, dtype=torch.float64).detach()
    shape = ",".join(str(d) for d in t.shape)
    rows.append(f"{name}|{shape}|" + " ".join(repr(v) for v in t.reshape(-1).tolist()))


def leaf(name, *shape, scale=1.0):
    t = ((torch.rand(*shape) * 2 - 1) * scale).requires_grad_(True)
    put(name, t)
    return t


def backward(name, y, *inputs):
    put(name + ".y", y)
    g = torch.rand(*y.shape) * 2 - 1
    put(name + ".g", g)
    grads = torch.autograd.grad(y, inputs, g)
    for suffix, gr in zip(["dx", "dw", "db"], grads):
        put(name + "." + suffix, gr)


for name, shape, eps in [("ln3", (2, 3, 7), 1e-5), ("ln4", (1, 2, 3, 8), 1e-6)]:
    c = shape[-1]
    x = leaf(name + ".x", *shape, scale=2.0)
    w = leaf(name + ".w", c)
    b = leaf(name + ".b", c)
    backward(name, F.layer_norm(x, (c,), w, b, eps), x, w, b)

for name, approx in [("gelu", "none"), ("gelu_tanh", "tanh")]:
    x = leaf(name + ".x", 3, 11, scale=4.0)
    backward(name, F.gelu(x, approximate=approx), x)

x = leaf("roll.x", 2, 5, 4, 3)
backward("roll", torch.roll(x, shifts=(-3, 6), dims=(1, -2)), x)
x = leaf("roll1.x", 2, 5, 4, 3)
backward("roll1", torch.roll(x, shifts=7, dims=3), x)

x = leaf("pad.x", 1, 2, 3, 4)
backward("pad", F.pad(x, (1, 2, 0, 3)), x)  # W by (1, 2), H by (0, 3) of NCHW
x = leaf("padnhwc.x", 1, 3, 4, 5)
backward("padnhwc", F.pad(x, (0, 0, 0, 2, 0, 1)), x)  # [N, H, W, C]: W by (0, 2), H by (0, 1), as Swin pads

pos = torch.rand(1, 1 + 4 * 4, 6) * 2 - 1
put("pos.in", pos)
for new in [6, 3]:
    for align in [True, False]:
        img = pos[:, 1:].permute(0, 2, 1).reshape(1, 6, 4, 4)
        img = F.interpolate(img, size=new, mode="bicubic", align_corners=align)
        res = torch.cat([pos[:, :1], img.reshape(1, 6, new * new).permute(0, 2, 1)], dim=1)
        put(f"pos.{new}.{'ac' if align else 'noac'}", res)

with open(out, "w") as f:
    f.write("\n".join(rows) + "\n")
