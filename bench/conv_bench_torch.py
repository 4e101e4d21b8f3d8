#!/usr/bin/python3
"""PyTorch side of bench/conv_bench.sh: conv2d forward + backward for every distinct convolution of
torchvision's ResNet-18 and ResNet-50 at 224x224, the shapes found by running the torchvision models with
forward hooks (so they check the Java side's own list).

Run with Debian's interpreter (/usr/bin/python3, torch 1.13). NCHW float32 tensors, as PyTorch code runs by
default; torch.set_num_threads(--threads). The input requires a gradient except for the stem (conv1: the
image needs none), so backward computes grad-input and grad-weight like the Java side. Medians after warm-up,
milliseconds, written as JSON.
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision


def busy_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def resnet_convs():
    """Distinct (c, h, k, r, stride, pad) with their counts in resnet18 and resnet50, in first-seen order."""
    order, counts = [], {}
    for col, arch in enumerate(["resnet18", "resnet50"]):
        model = getattr(torchvision.models, arch)(weights=None).eval()
        hooks = []
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                def hook(mod, inp, out):
                    x = inp[0]
                    assert mod.kernel_size[0] == mod.kernel_size[1] and mod.stride[0] == mod.stride[1]
                    assert mod.groups == 1 and mod.dilation == (1, 1) and x.shape[2] == x.shape[3]
                    key = (mod.in_channels, x.shape[2], mod.out_channels, mod.kernel_size[0], mod.stride[0], mod.padding[0])
                    if key not in counts:
                        counts[key] = [0, 0]
                        order.append(key)
                    counts[key][col] += 1
                hooks.append(m.register_forward_hook(hook))
        with torch.no_grad():
            model(torch.zeros(1, 3, 224, 224))
        for h in hooks:
            h.remove()
    return [(k, counts[k]) for k in order]


def name(c, h, k, r, s):
    return "%d->%d %dx%d/%d @%d" % (c, k, r, r, s, h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print("# torch %s, %d threads, mkldnn %s" % (torch.__version__, torch.get_num_threads(), torch.backends.mkldnn.is_available()))
    print("# batch %d, %d warm-up + %d timed iterations, medians in ms" % (a.batch, a.warmup, a.iters))
    print("%-24s %9s %9s %9s" % ("layer", "fwd", "bwd", "total"))
    rows, total = [], 0.0
    b0, s0, t0 = busy_jiffies(), self_cpu(), time.perf_counter()
    for (c, h, k, r, s, p), (n18, n50) in resnet_convs():
        label = name(c, h, k, r, s)
        if a.only and a.only not in label:
            continue
        stem = c == 3
        x = torch.randn(a.batch, c, h, h, requires_grad=not stem)
        w = torch.randn(k, c, r, r, requires_grad=True)
        out = (h + 2 * p - r) // s + 1
        gy = torch.randn(a.batch, k, out, out)
        fwd, bwd = [], []
        for i in range(a.warmup + a.iters):
            x.grad, w.grad = None, None
            t = time.perf_counter()
            y = F.conv2d(x, w, None, s, p)
            t1 = time.perf_counter()
            y.backward(gy)
            t2 = time.perf_counter()
            del y
            if i >= a.warmup:
                fwd.append((t1 - t) * 1e3)
                bwd.append((t2 - t1) * 1e3)
        mf, mb = statistics.median(fwd), statistics.median(bwd)
        total += mf + mb
        print("%-24s %9.1f %9.1f %9.1f" % (label, mf, mb, mf + mb), flush=True)
        rows.append(dict(layer=label, c=c, h=h, k=k, r=r, stride=s, pad=p, in_resnet18=n18, in_resnet50=n50,
                         fwd_ms=mf, bwd_ms=mb, total_ms=mf + mb, fwd_all_ms=fwd, bwd_all_ms=bwd))
    wall = time.perf_counter() - t0
    others = max(0.0, (busy_jiffies() - b0) / os.sysconf("SC_CLK_TCK") - (self_cpu() - s0)) / wall
    print("# sum of medians over %d shapes: %.1f ms; other processes used %.2f CPUs meanwhile" % (len(rows), total, others))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(dict(engine="pytorch", torch=torch.__version__, threads=torch.get_num_threads(), batch=a.batch,
                           warmup=a.warmup, iters=a.iters, others_cpu=others, wall_s=wall, layers=rows), f, indent=1)


if __name__ == "__main__":
    main()
