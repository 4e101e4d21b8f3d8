#!/usr/bin/python3
"""PyTorch side of bench/train_bench.sh: the work `graft bench` times, one configuration per call.

    /usr/bin/python3 bench/train_bench_torch.py --config r18_train_b32 [--channels-last] [--threads 2] --out FILE

Configurations are named like Graft's: <arch>_<kind>_b<batch> with arch r18 / r50, kinds
  train          full fine-tuning: model.train(), zero_grad, CrossEntropyLoss(model(x), y), backward,
                 SGD(all parameters, lr 0.001, momentum 0.9).step()
  frozen         frozen backbone as Graft's batch-norm policy HOLD: requires_grad=False on the backbone, a new
                 nn.Linear(.., 2) head, model.train() but every BatchNorm2d in eval mode (running statistics),
                 SGD over the head
  frozentrack    the PyTorch transfer-learning tutorial's frozen backbone (BatchNorm in train mode, batch
                 statistics, running statistics updated): the anchor's "frozen" figure
  cached         one epoch of head training on cached pooled features: --cached-images images in batches of
                 --batch (the same cached batch every time, as Graft does)
  infer          model.eval() under torch.no_grad()
Architectures: torchvision's (r18, r50, resnet*, inception_v3: its training step adds 0.4 x the auxiliary head's
loss, as torchvision's reference recipe) and Transfusion's CBR family (cbr_tiny, ...: the plain PyTorch module of
tests/src/test/fixtures/make_cbr_fixtures.py).
Data: one fixed synthetic batch (randn, randint labels) reused every iteration, NCHW unless --channels-last.
--device cuda runs on the GPU (each timed step ends by reading the loss or a logit back, as `graft bench` does,
which waits for the queued kernels); there --tf32 allows TF32 in cuDNN and cuBLAS, and without it both are off
(exact FP32, Graft's default math). cudnn.benchmark stays off (PyTorch's default).
Prints one line "RESULT {json}" and writes the same JSON to --out. Peak RSS is ru_maxrss of this process,
which runs one configuration only. Adapted from /work/shared/bench/torch_bench.py (the PyTorch anchor).
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


def timed_loop(step, warmup, min_iters, min_time_s, max_iters):
    for _ in range(warmup):
        step()
    hz = os.sysconf("SC_CLK_TCK")
    b0, s0 = busy_jiffies(), self_cpu()
    times = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
        if len(times) >= max_iters or (len(times) >= min_iters and time.perf_counter() - start >= min_time_s):
            break
    wall = time.perf_counter() - start
    own = self_cpu() - s0
    others = max(0.0, (busy_jiffies() - b0) / hz - own) / wall
    return times, own / wall, others


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--cached-images", type=int, default=320)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--bf16", action="store_true",
                    help="training kinds: forward and loss under torch.autocast('cpu', dtype=torch.bfloat16), as PyTorch's "
                         "CPU mixed-precision recipe (fp32 weights, SGD in fp32)")
    ap.add_argument("--iters", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--min-time", type=float)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--tf32", action="store_true", help="on cuda: allow TF32 math (default: exact FP32)")
    ap.add_argument("--out")
    a = ap.parse_args()

    import torch
    import torchvision

    arch_short, kind, b = a.config.rsplit("_", 2)  # inception_v3_train_b32, cbr_tiny_infer_b1
    arch = {"r18": "resnet18", "r50": "resnet50"}.get(arch_short, arch_short)
    batch = int(b[1:])
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    if arch.startswith("cbr_"):
        # Transfusion's CBR family as the parity fixtures' plain PyTorch module (docs/architectures.md)
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "src", "test", "fixtures"))
        from make_cbr_fixtures import CBR, NAMED
        kernel, channels, pools = NAMED[arch]
        model = CBR(kernel, channels, pools, 2).to(memory_format=fmt)
    elif arch == "inception_v3":
        # torchvision's inception_v3 with its auxiliary head (trained as its reference recipe: loss + 0.4 * aux loss)
        # (the auxiliary head fits from 299 px only; below, both sides train without it)
        model = torchvision.models.inception_v3(weights=None, num_classes=2, aux_logits=a.image_size >= 299, init_weights=True)
        model = model.to(memory_format=fmt)
    else:
        model = getattr(torchvision.models, arch)(weights=None, num_classes=2).to(memory_format=fmt)
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(batch, 3, a.image_size, a.image_size, generator=g).contiguous(memory_format=fmt)
    y = torch.randint(0, 2, (batch,), generator=g)
    model, x, y = model.to(dev), x.to(dev), y.to(dev)
    crit = torch.nn.CrossEntropyLoss()
    images = batch
    latency = kind == "infer" and batch == 1

    if kind == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    elif kind in ("frozen", "frozentrack", "cached"):
        for p in model.parameters():
            p.requires_grad = False
        model.fc = torch.nn.Linear(model.fc.in_features, 2).to(dev)
        model.train()
        if kind != "frozentrack":
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.eval()
        opt = torch.optim.SGD(model.fc.parameters(), lr=0.001, momentum=0.9)
    elif kind == "infer":
        model.eval()
    else:
        raise SystemExit("unknown kind " + kind)

    if kind in ("train", "frozen", "frozentrack"):
        def step():
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
                out = model(x)
                if isinstance(out, tuple):  # InceptionOutputs(logits, aux_logits) in training
                    loss = crit(out[0], y) + 0.4 * crit(out[1], y)
                else:
                    loss = crit(out, y)
            loss.backward()
            opt.step()
            return loss.item()
    elif kind == "cached":
        with torch.no_grad():
            head = model.fc
            model.fc = torch.nn.Identity()
            feats = model(x)
            model.fc = head
        images = a.cached_images

        def step():
            for _ in range(0, images, batch):
                opt.zero_grad()
                loss = crit(head(feats), y)
                loss.backward()
                opt.step()
            return loss.item()
    else:
        def step():
            with torch.no_grad():
                return model(x)[0, 0].item()

    warmup = a.warmup if a.warmup is not None else (5 if latency else 2)
    min_iters = a.iters if a.iters is not None else (20 if latency else 5)
    min_time = a.min_time if a.min_time is not None else (5.0 if latency or kind == "cached" else 0.0)
    max_iters = 300 if latency else 200 if kind == "cached" else min_iters
    times, own, others = timed_loop(step, warmup, min_iters, min_time, max_iters)
    med = statistics.median(times)
    res = dict(config=a.config, arch=arch, kind=kind, batch=batch, image_size=a.image_size, images_per_iter=images,
               channels_last=a.channels_last, bf16_autocast=a.bf16, threads=torch.get_num_threads(), torch=torch.__version__,
               device=str(dev), tf32=a.tf32 if dev.type == "cuda" else None,
               gpu=torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
               times_s=times, median_s=med, min_s=min(times), max_s=max(times), img_per_s_median=images / med,
               peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
               self_cpu_per_wall=own, others_cpu_per_wall=others)
    print("RESULT " + json.dumps(res), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
