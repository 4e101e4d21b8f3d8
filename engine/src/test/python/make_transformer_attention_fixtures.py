#!/usr/bin/python3
"""Writes ../resources/fixtures/transformer_attention_values.txt for TransformerAttentionValuesTest, with Debian's
python3-torch (torch 1.13):

    /usr/bin/python3 engine/src/test/python/make_transformer_attention_fixtures.py

Format as ForwardValuesTest's (name|shape|values, float64 repr), all in float64:
- bmm in all four transpose combinations, batch dims [2, 3]: output and both gradients for a random upstream g;
- softmax over the last axis of [2, 3, 7] (inputs in [-3, 3]): output and input gradient;
- index_select of a Swin-style relative position bias table [(2*3-1)^2, 2] with torchvision's relative_position_index
  for a 3x3 window, viewed as [9, 9, 2] and permuted to [2, 9, 9] (as torchvision's swin_t does): output and the
  table's gradient (a scatter-add: each table row collects several entries);
- one ViT-style attention block: tokens [2, 4, 8], a class token [1, 1, 8] (expanded over the batch and
  concatenated on the token axis), a position embedding [1, 5, 8] added, qkv linear [24, 8], split into 2 heads of 4
  through reshape [2, 5, 3, 2, 4] and permute(2, 0, 3, 1, 4), attention with scale 1/2 and an additive bias
  [2, 5, 5] gathered from a table [7, 2] with a fixed index, heads merged back, proj linear [8, 8], a residual, and
  the class token's row: output and the gradient of every input. Rerunning changes nothing unless torch's
  generator changes (seeded).
"""
import os

import torch

torch.manual_seed(20261207)
torch.set_default_dtype(torch.float64)
here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "..", "resources", "fixtures", "transformer_attention_values.txt")
rows = []


def put(name, t):
    t = torch.as_tensor(t, dtype=torch.float64).detach()
    shape = ",".join(str(d) for d in t.shape)
    rows.append(f"{name}|{shape}|" + " ".join(repr(v) for v in t.reshape(-1).tolist()))


def leaf(name, *shape, spread=1.0):
    t = ((torch.rand(*shape) * 2 - 1) * spread).requires_grad_(True)
    put(name, t)
    return t


for ta in (False, True):
    for tb in (False, True):
        tag = f"bmm.{int(ta)}{int(tb)}"
        a = leaf(f"{tag}.a", *((2, 3, 5, 4) if ta else (2, 3, 4, 5)))
        b = leaf(f"{tag}.b", *((2, 3, 6, 5) if tb else (2, 3, 5, 6)))
        y = torch.matmul(a.transpose(-1, -2) if ta else a, b.transpose(-1, -2) if tb else b)
        g = torch.rand(y.shape) * 2 - 1
        put(f"{tag}.y", y)
        put(f"{tag}.g", g)
        y.backward(g)
        put(f"{tag}.da", a.grad)
        put(f"{tag}.db", b.grad)

x = leaf("softmax.x", 2, 3, 7, spread=3.0)
y = torch.softmax(x, dim=-1)
g = torch.rand(y.shape) * 2 - 1
put("softmax.y", y)
put("softmax.g", g)
y.backward(g)
put("softmax.dx", x.grad)

# torchvision's swin_t relative_position_index for a window of 3 (as in its ShiftedWindowAttention).
w = 3
coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij"))
flat = torch.flatten(coords, 1)
rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
rel[:, :, 0] += w - 1
rel[:, :, 1] += w - 1
rel[:, :, 0] *= 2 * w - 1
index = rel.sum(-1).flatten()
put("gather.index", index)
table = leaf("gather.table", (2 * w - 1) ** 2, 2)
y = table[index].view(w * w, w * w, -1).permute(2, 0, 1).contiguous()
g = torch.rand(y.shape) * 2 - 1
put("gather.y", y)
put("gather.g", g)
y.backward(g)
put("gather.dtable", table.grad)

# One attention block, ViT-style, with a gathered additive bias.
n, t, c, h, d = 2, 4, 8, 2, 4
tokens = leaf("block.tokens", n, t, c)
cls = leaf("block.cls", 1, 1, c)
pos = leaf("block.pos", 1, t + 1, c)
wqkv = leaf("block.wqkv", 3 * c, c)
bqkv = leaf("block.bqkv", 3 * c)
wproj = leaf("block.wproj", c, c)
bproj = leaf("block.bproj", c)
btable = leaf("block.btable", 7, h)
bindex = torch.randint(0, 7, ((t + 1) * (t + 1),))
put("block.bindex", bindex)
xx = torch.cat([cls.expand(n, -1, -1), tokens], dim=1) + pos
qkv = torch.nn.functional.linear(xx, wqkv, bqkv).reshape(n, t + 1, 3, h, d).permute(2, 0, 3, 1, 4)
q, k, v = qkv[0], qkv[1], qkv[2]
bias = btable[bindex].view(t + 1, t + 1, h).permute(2, 0, 1)
attn = torch.softmax(q @ k.transpose(-2, -1) * d ** -0.5 + bias, dim=-1)
o = (attn @ v).transpose(1, 2).reshape(n, t + 1, c)
o = torch.nn.functional.linear(o, wproj, bproj) + xx
y = o[:, 0]
g = torch.rand(y.shape) * 2 - 1
put("block.y", y)
put("block.g", g)
y.backward(g)
for name, p in [("tokens", tokens), ("cls", cls), ("pos", pos), ("wqkv", wqkv), ("bqkv", bqkv), ("wproj", wproj),
                ("bproj", bproj), ("btable", btable)]:
    put(f"block.d{name}", p.grad)

with open(out + ".tmp", "w") as f:
    f.write(f"# Made by engine/src/test/python/make_transformer_attention_fixtures.py with torch {torch.__version__}; do not edit.\n")
    f.write("\n".join(rows) + "\n")
os.replace(out + ".tmp", out)
