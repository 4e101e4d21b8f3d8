#!/usr/bin/env python3
"""PyTorch side of the cuda kernel benchmark: the ResNet-50 convolution shapes that
dev.graft.engine.backend.cuda.CudaConvBench times, timed the same way in PyTorch on the
same GPU, in exact (FP32, allow_tf32 off) and fast (TF32 on) math, then ratios.

    python3 bench/gpu/torch_conv_bench.py [--batch 64] [--warmup 3] [--iters 10]
        [--modes exact,fast] [--json torch.json] [--compare graft.json]

With --compare, the shapes come from Graft's JSON (so both sides time exactly the same
work) and a table of ratios (Graft time / PyTorch time, lower is better for Graft) is
printed. cudnn.benchmark stays False: PyTorch then uses cuDNN's heuristics, as Graft does.
Each pass is one aten call: convolution (forward), convolution_backward with output_mask
[True, False, False] (backward-data) and [False, True, False] (backward-filter).
"""
import argparse
import json
import sys
import time

try:
    import torch
except ImportError:
    sys.exit("torch_conv_bench.py: this python has no torch; use the PyTorch venv's python3")

# (name, c, k, hw, r, stride, pad, count): torchvision resnet50 v1.5, 224x224 input.
RESNET50 = [
    ("conv1", 3, 64, 224, 7, 2, 3, 1),
    ("layer1.0.conv1", 64, 64, 56, 1, 1, 0, 1),
    ("layer1.x.conv2", 64, 64, 56, 3, 1, 1, 3),
    ("layer1.x.conv3+ds", 64, 256, 56, 1, 1, 0, 4),
    ("layer1.x.conv1", 256, 64, 56, 1, 1, 0, 2),
    ("layer2.0.conv1", 256, 128, 56, 1, 1, 0, 1),
    ("layer2.0.conv2", 128, 128, 56, 3, 2, 1, 1),
    ("layer2.x.conv3", 128, 512, 28, 1, 1, 0, 4),
    ("layer2.0.downsample", 256, 512, 56, 1, 2, 0, 1),
    ("layer2.x.conv1", 512, 128, 28, 1, 1, 0, 3),
    ("layer2.x.conv2", 128, 128, 28, 3, 1, 1, 3),
    ("layer3.0.conv1", 512, 256, 28, 1, 1, 0, 1),
    ("layer3.0.conv2", 256, 256, 28, 3, 2, 1, 1),
    ("layer3.x.conv3", 256, 1024, 14, 1, 1, 0, 6),
    ("layer3.0.downsample", 512, 1024, 28, 1, 2, 0, 1),
    ("layer3.x.conv1", 1024, 256, 14, 1, 1, 0, 5),
    ("layer3.x.conv2", 256, 256, 14, 3, 1, 1, 5),
    ("layer4.0.conv1", 1024, 512, 14, 1, 1, 0, 1),
    ("layer4.0.conv2", 512, 512, 14, 3, 2, 1, 1),
    ("layer4.x.conv3", 512, 2048, 7, 1, 1, 0, 3),
    ("layer4.0.downsample", 1024, 2048, 14, 1, 2, 0, 1),
    ("layer4.x.conv1", 2048, 512, 7, 1, 1, 0, 2),
    ("layer4.x.conv2", 512, 512, 7, 3, 1, 1, 2),
]


def layers_from(graft, batch):
    """The shapes Graft timed (first run), as the tuples above."""
    out = []
    for l in graft["runs"][0]["layers"]:
        out.append((l["name"], l["x"][1], l["w"][0], l["x"][2], l["w"][2], l["stride"], l["pad"], l["count"]))
    return out, graft["batch"]


def time_calls(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1000.0 / iters


def run(mode, layers, batch, warmup, iters):
    fast = mode == "fast"
    torch.backends.cudnn.allow_tf32 = fast
    torch.backends.cuda.matmul.allow_tf32 = fast
    torch.backends.cudnn.benchmark = False
    dev = torch.device("cuda")
    print(f"\n{torch.cuda.get_device_name(0)}, batch {batch}, {mode}: ms per call")
    print(f"{'layer':22s} {'count':>5s} {'forward':>10s} {'bwd-data':>10s} {'bwd-filter':>10s}")
    rows, total = [], [0.0, 0.0, 0.0]
    for (name, c, k, hw, r, stride, pad, count) in layers:
        x = torch.full((batch, c, hw, hw), 0.5, device=dev)
        w = torch.full((k, c, r, r), 0.01, device=dev)
        s, p, d = [stride, stride], [pad, pad], [1, 1]
        y = torch.ops.aten.convolution(x, w, None, s, p, d, False, [0, 0], 1)
        dy = torch.full_like(y, 0.001)
        calls = [
            lambda: torch.ops.aten.convolution(x, w, None, s, p, d, False, [0, 0], 1),
            lambda: torch.ops.aten.convolution_backward(dy, x, w, None, s, p, d, False, [0, 0], 1, [True, False, False]),
            lambda: torch.ops.aten.convolution_backward(dy, x, w, None, s, p, d, False, [0, 0], 1, [False, True, False]),
        ]
        with torch.no_grad():
            ms = [time_calls(fn, warmup, iters) for fn in calls]
        for i in range(3):
            total[i] += ms[i] * count
        print(f"{name:22s} {count:5d} {ms[0]:10.3f} {ms[1]:10.3f} {ms[2]:10.3f}")
        rows.append({"name": name, "x": [batch, c, hw, hw], "w": [k, c, r, r], "stride": stride, "pad": pad,
                     "count": count, "fwd_ms": ms[0], "bwd_data_ms": ms[1], "bwd_filter_ms": ms[2]})
        del x, w, y, dy
    print(f"ResNet-50 convolutions, one training step: forward {total[0]:.1f} ms, backward-data {total[1]:.1f} ms, "
          f"backward-filter {total[2]:.1f} ms, total {sum(total):.1f} ms")
    return {"mode": mode, "total_ms": {"fwd": total[0], "bwd_data": total[1], "bwd_filter": total[2]}, "layers": rows}


def compare(graft, ours):
    print("\nGraft / PyTorch time per call (1.00 = same speed; below 1 Graft is faster)")
    for g in graft["runs"]:
        t = next((r for r in ours["runs"] if r["mode"] == g["mode"]), None)
        if t is None:
            continue
        print(f"\n[{g['mode']}]\n  {'layer':28s} {'forward':>8s} {'bwd-data':>9s} {'bwd-filter':>10s}")
        for gl, tl in zip(g["layers"], t["layers"]):
            if gl["name"] != tl["name"] or gl["x"] != tl["x"] or gl["w"] != tl["w"]:
                print(f"  shape mismatch: {gl['name']} vs {tl['name']}")
                continue
            r = [gl[k] / tl[k] for k in ("fwd_ms", "bwd_data_ms", "bwd_filter_ms")]
            print(f"  {gl['name']:28s} {r[0]:8.2f} {r[1]:9.2f} {r[2]:10.2f}")
        gt, tt = g["total_ms"], t["total_ms"]
        gs, ts = sum(gt.values()), sum(tt.values())
        print(f"  {'training-step total':28s} {gt['fwd'] / tt['fwd']:8.2f} {gt['bwd_data'] / tt['bwd_data']:9.2f} "
              f"{gt['bwd_filter'] / tt['bwd_filter']:10.2f}   all passes: Graft {gs:.1f} ms, PyTorch {ts:.1f} ms, ratio {gs / ts:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--modes", default="exact,fast")
    ap.add_argument("--json")
    ap.add_argument("--compare", help="Graft's JSON (CudaConvBench --json): time its shapes and print ratios")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("torch_conv_bench.py: torch sees no CUDA device")
    layers, batch, graft = RESNET50, a.batch, None
    if a.compare:
        with open(a.compare) as f:
            graft = json.load(f)
        layers, batch = layers_from(graft, a.batch)
    result = {"tool": "pytorch", "torch": torch.__version__, "cuda": torch.version.cuda,
              "cudnn": torch.backends.cudnn.version(), "device": torch.cuda.get_device_name(0), "batch": batch,
              "iters": a.iters, "runs": [run(m, layers, batch, a.warmup, a.iters) for m in a.modes.split(",")]}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {a.json}")
    if graft is not None:
        compare(graft, result)


if __name__ == "__main__":
    main()
