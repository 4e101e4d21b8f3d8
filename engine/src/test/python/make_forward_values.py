#!/usr/bin/python3
"""Writes ../resources/fixtures/forward_values.txt: inputs and PyTorch's outputs (float64) for
ForwardValuesTest. Run with Debian's python3-torch (torch 1.13):

    /usr/bin/python3 engine/src/test/python/make_forward_values.py

One array per line: name|comma-separated shape|space-separated values (row-major, repr precision).
"""
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261127)
torch.set_default_dtype(torch.float64)
rows = []


def put(name, t):
    t = torch.as_tensor(t, dtype=torch.float64).detach()
    shape = ",".join(str(d) for d in t.shape)
    rows.append(f"{name}|{shape}|" + " ".join(repr(v) for v in t.reshape(-1).tolist()))


def leaf(name, *shape, lo=-1.0, hi=1.0):
    t = (torch.rand(*shape) * (hi - lo) + lo).requires_grad_(True)
    put(name, t)
    return t


# conv2d: groups 2, asymmetric stride / padding / dilation, bias; output and gradients for an upstream g.
x = leaf("conv.x", 2, 4, 5, 6)
w = leaf("conv.w", 6, 2, 3, 2)
b = leaf("conv.b", 6)
y = F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
g = torch.rand(y.shape) * 2 - 1
put("conv.y", y)
put("conv.g", g)
y.backward(g)
put("conv.dx", x.grad)
put("conv.dw", w.grad)
put("conv.db", b.grad)

# depthwise conv2d, channel multiplier 2, stride 2 > ... on an odd 7x5 input, no bias.
x = leaf("dwconv.x", 1, 3, 7, 5)
w = leaf("dwconv.w", 6, 1, 3, 3)
put("dwconv.y", F.conv2d(x, w, None, stride=2, padding=1, groups=3))

# max_pool2d with padding and stride > kernel along W; distinct values (a shuffled grid), gradient for g.
x = (torch.randperm(2 * 2 * 5 * 7).double() / 70 - 1).reshape(2, 2, 5, 7).requires_grad_(True)
put("pool.x", x)
y = F.max_pool2d(x, kernel_size=(3, 2), stride=(2, 3), padding=(1, 1))
g = torch.rand(y.shape) * 2 - 1
put("pool.y", y)
put("pool.g", g)
y.backward(g)
put("pool.dx", x.grad)

# max_pool2d ties: small integers, overlapping windows; the gradient goes to the first maximum in each window.
x = torch.randint(0, 3, (1, 2, 4, 5)).double().requires_grad_(True)
put("poolties.x", x)
y = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
put("poolties.y", y)
y.sum().backward()
put("poolties.dx", x.grad)

# batch_norm training (momentum 0.1, eps 1e-5): output, updated running stats, then eval with them.
x = leaf("bn.x", 3, 2, 3, 2, lo=-2, hi=3)
gamma = leaf("bn.gamma", 2, lo=0.5, hi=1.5)
beta = leaf("bn.beta", 2)
rm = torch.rand(2)
rv = torch.rand(2) + 0.5
put("bn.running_mean", rm)
put("bn.running_var", rv)
put("bn.y", F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5))
put("bn.running_mean_after", rm)
put("bn.running_var_after", rv)
put("bn.y_eval", F.batch_norm(x, rm, rv, gamma, beta, training=False, momentum=0.1, eps=1e-5))

# adaptive_avg_pool2d to 1x1 and linear.
x = leaf("avg.x", 2, 3, 3, 5)
put("avg.y", F.adaptive_avg_pool2d(x, 1))
x = leaf("linear.x", 3, 4)
w = leaf("linear.w", 2, 4)
b = leaf("linear.b", 2)
put("linear.y", F.linear(x, w, b))

# log_softmax with large logits, cross-entropy with class weights and label smoothing, nll_loss.
x = leaf("lsm.x", 3, 5, lo=-30, hi=30)
put("lsm.y", F.log_softmax(x, dim=1))
logits = leaf("ce.logits", 4, 3, lo=-2, hi=2)
labels = torch.tensor([2, 0, 2, 1])
weights = torch.tensor([0.25, 1.0, 3.0])  # exact in float32: the op takes float[] weights
put("ce.labels", labels)
put("ce.weights", weights)
put("ce.plain", F.cross_entropy(logits, labels))
put("ce.weighted", F.cross_entropy(logits, labels, weight=weights))
put("ce.smoothed", F.cross_entropy(logits, labels, label_smoothing=0.15))
loss = F.cross_entropy(logits, labels, weight=weights, label_smoothing=0.15)
put("ce.weighted_smoothed", loss)
loss.backward()
put("ce.weighted_smoothed.dlogits", logits.grad)
put("nll.weighted", F.nll_loss(F.log_softmax(logits, dim=1), labels, weight=weights))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "forward_values.txt")
with open(out, "w") as f:
    f.write(f"# Made by engine/src/test/python/make_forward_values.py with torch {torch.__version__}; do not edit.\n")
    f.write("\n".join(rows) + "\n")
print("wrote", len(rows), "arrays to", os.path.normpath(out))
