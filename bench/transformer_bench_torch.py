#!/usr/bin/python3
"""PyTorch side of bench/transformer_bench.sh: the work dev.graft.cli.bench.TransformerBench times, one
configuration per call.

    /usr/bin/python3 bench/transformer_bench_torch.py --arch deit_s|swin_t --kind train|infer --batch 32
        [--image-size 224] [--threads 2] [--warmup 2] [--iters 5] [--min-time 10] [--profile] [--out FILE]

Models (random initialisation, 2 classes): DeiT-S as torchvision's VisionTransformer with DeiT-S's shape (patch 16,
hidden 384, depth 12, 6 heads, MLP 1536: the same computation as timm's deit_small_patch16_224, dropout 0), Swin-T
as torchvision's swin_t (stochastic depth 0.2 in train mode).
  train  model.train(), zero_grad, CrossEntropyLoss(model(x), y), backward, AdamW(lr 1e-4, weight_decay 0.05).step()
  infer  model.eval() under torch.no_grad()
Data: one fixed synthetic batch (randn, randint labels) reused every iteration. --profile prints
torch.autograd.profiler's table of the timed iterations (self CPU time per op). Prints one line "RESULT {json}" and
writes the same JSON to --out. Peak RSS is ru_maxrss of this process, which runs one configuration only.
"""
import argparse
import json
import os
import resource
import statistics
import time


def busy_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


def self_cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="deit_s", choices=["deit_s", "swin_t"])
    ap.add_argument("--kind", default="train", choices=["train", "infer"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=10.0)
    ap.add_argument("--max-iters", type=int, default=200)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--out")
    a = ap.parse_args()

    import torch
    import torchvision
    from torchvision.models.vision_transformer import VisionTransformer

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.arch == "deit_s":
        model = VisionTransformer(image_size=a.image_size, patch_size=16, num_layers=12, num_heads=6, hidden_dim=384,
                                  mlp_dim=1536, num_classes=2)
    else:
        model = torchvision.models.swin_t(weights=None, num_classes=2)
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(a.batch, 3, a.image_size, a.image_size, generator=g)
    y = torch.randint(0, 2, (a.batch,), generator=g)
    crit = torch.nn.CrossEntropyLoss()
    sink = [0.0]
    if a.kind == "train":
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)

        def step():
            opt.zero_grad()
            loss = crit(model(x), y)
            loss.backward()
            opt.step()
            sink[0] += loss.item()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                sink[0] += model(x)[0, 0].item()

    for _ in range(a.warmup):
        step()
    hz = os.sysconf("SC_CLK_TCK")
    prof = torch.autograd.profiler.profile() if a.profile else None
    if prof is not None:
        prof.__enter__()
    b0, s0 = busy_jiffies(), self_cpu()
    times = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
        if len(times) >= a.max_iters or (len(times) >= a.iters and time.perf_counter() - start >= a.min_time):
            break
    wall = time.perf_counter() - start
    own = self_cpu() - s0
    others = max(0.0, (busy_jiffies() - b0) / hz - own) / wall
    if prof is not None:
        prof.__exit__(None, None, None)
    median = statistics.median(times)
    name = "%s_%s_b%d" % (a.arch, a.kind, a.batch)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    res = dict(side="torch", config=name, arch=a.arch, kind=a.kind, batch=a.batch, image_size=a.image_size,
               median_s=median, min_s=min(times), img_per_s_median=a.batch / median, peak_rss_mib=peak,
               self_cpu_per_wall=own / wall, others_cpu_per_wall=others, times_s=times, torch=torch.__version__,
               threads=torch.get_num_threads())
    print("torch %-18s median %9.1f ms  %8.2f img/s  peak RSS %6.0f MiB  (%d iters, bg CPU %.2f, process CPU %.1f ms per iteration)" % (
        name, median * 1e3, a.batch / median, peak, len(times), others, own / len(times) * 1e3))
    if prof is not None:
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
    print("RESULT " + json.dumps(res))
    if a.out:
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(res, f)
        os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
