#!/usr/bin/python3
"""PyTorch side of bench/recipe_bench.sh: the seed recipe as PyTorch's transfer-learning tutorial writes it.

    /usr/bin/python3 bench/recipe_bench_torch.py --data DIR --weights resnet18.pth --out DIR
        [--head-epochs 1] [--finetune-epochs 3] [--batch 32] [--workers 2] [--threads 2] [--seed 0]

torchvision ImageFolder on DIR/train and DIR/val, DataLoader(num_workers=--workers), torch.set_num_threads(--threads),
fp32 on the CPU. The transforms are those `graft train` uses by default:
  train: RandomResizedCrop(224, scale=(0.75, 1), ratio=(3/4, 4/3)), RandomHorizontalFlip(0.5),
         RandomRotation(10, bilinear, fill 0), ToTensor, Normalize(ImageNet mean/std)
  val:   Resize(256), CenterCrop(224), ToTensor, Normalize
ResNet-18 from --weights (the same file Graft gets) with a new 2-class head. Phase 1: backbone frozen with its batch
norms in eval mode (Graft's --bn-policy hold), AdamW(betas 0.9/0.99, eps 1e-5, weight decay 0.01 except biases and
batch norm) on the head, one-cycle (pct_start 0.99). Phase 2: everything trainable, three groups (stem..layer2,
layer3..layer4, head) at base/2/100, geometric middle, base/2, one-cycle (pct_start 0.3, div 5). Like Graft, the last
partial training batch is dropped when the set is larger than a batch. After each epoch: validation loss and accuracy,
the best model by validation loss kept and saved at the end (torch.save). That is all the tutorial does; Graft's run
also writes checkpoints, plots, a report and Grad-CAM heat maps, which this side does not.
Prints one line "RESULT {json}" with the in-process wall time (from before `import torch`) and per-epoch seconds.
"""
import argparse
import json
import math
import os
import time

T0 = time.perf_counter()

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torchvision import datasets, models, transforms  # noqa: E402
from torchvision.transforms import InterpolationMode  # noqa: E402

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def groups(named, lr):
    decay, no_decay = [], []
    for n, p in named:
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "lr": lr, "weight_decay": 0.01}, {"params": no_decay, "lr": lr, "weight_decay": 0.0}]


def set_bn_eval(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--head-epochs", type=int, default=1)
    ap.add_argument("--finetune-epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)

    norm = transforms.Normalize(MEAN, STD)
    train_tf = transforms.Compose([
        transforms.RandomResizedCrop(224, scale=(0.75, 1.0), ratio=(3 / 4, 4 / 3)),
        transforms.RandomHorizontalFlip(0.5),
        transforms.RandomRotation(10, interpolation=InterpolationMode.BILINEAR, fill=0),
        transforms.ToTensor(), norm])
    val_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), norm])
    train_set = datasets.ImageFolder(os.path.join(a.data, "train"), train_tf)
    val_set = datasets.ImageFolder(os.path.join(a.data, "val"), val_tf)
    drop_last = len(train_set) > a.batch
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=a.batch, shuffle=True, num_workers=a.workers,
                                               drop_last=drop_last, persistent_workers=a.workers > 0)
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=a.batch, shuffle=False, num_workers=a.workers,
                                             persistent_workers=a.workers > 0)

    model = models.resnet18()
    model.load_state_dict(torch.load(a.weights, map_location="cpu"))
    model.fc = nn.Linear(model.fc.in_features, len(train_set.classes))
    criterion = nn.CrossEntropyLoss()
    steps = len(train_loader)
    epochs = []
    best = (math.inf, None)

    def run_phase(name, n_epochs, opt, sched, hold_bn):
        nonlocal best
        for _ in range(n_epochs):
            t = time.perf_counter()
            model.train()
            if hold_bn:
                set_bn_eval(model)
            for x, y in train_loader:
                opt.zero_grad()
                loss = criterion(model(x), y)
                loss.backward()
                opt.step()
                sched.step()
            model.eval()
            total, correct, n = 0.0, 0, 0
            with torch.no_grad():
                for x, y in val_loader:
                    out = model(x)
                    total += criterion(out, y).item() * len(y)
                    correct += (out.argmax(1) == y).sum().item()
                    n += len(y)
            if total / n < best[0]:
                best = (total / n, {k: v.clone() for k, v in model.state_dict().items()})
            epochs.append({"phase": name, "seconds": time.perf_counter() - t, "val_loss": total / n, "val_accuracy": correct / n})
            print("epoch %d (%s): val loss %.4f, accuracy %.3f, %.1f s" % (len(epochs), name, total / n, correct / n,
                                                                           epochs[-1]["seconds"]), flush=True)

    if a.head_epochs > 0:
        for p in model.parameters():
            p.requires_grad = False
        for p in model.fc.parameters():
            p.requires_grad = True
        opt = torch.optim.AdamW(groups(model.fc.named_parameters(), a.lr), lr=a.lr, betas=(0.9, 0.99), eps=1e-5)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=max(1, steps * a.head_epochs), pct_start=0.99)
        run_phase("head", a.head_epochs, opt, sched, True)
    if a.finetune_epochs > 0:
        for p in model.parameters():
            p.requires_grad = True
        hi = a.lr / 2
        lo = hi / 100
        rates = [lo, math.sqrt(lo * hi), hi]
        parts = [["conv1", "bn1", "layer1", "layer2"], ["layer3", "layer4"], ["fc"]]
        param_groups, max_lrs = [], []
        for rate, names in zip(rates, parts):
            g = groups([(n, p) for n, p in model.named_parameters() if n.split(".")[0] in names], rate)
            param_groups += g
            max_lrs += [rate, rate]
        opt = torch.optim.AdamW(param_groups, lr=hi, betas=(0.9, 0.99), eps=1e-5)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lrs, total_steps=max(1, steps * a.finetune_epochs),
                                                    pct_start=0.3, div_factor=5)
        run_phase("finetune", a.finetune_epochs, opt, sched, False)
    torch.save(best[1], os.path.join(a.out, "best.pth"))
    result = {"side": "pytorch", "torch": torch.__version__, "threads": a.threads, "workers": a.workers,
              "train_images": len(train_set), "val_images": len(val_set), "batch": a.batch, "wall_s_in_process": time.perf_counter() - T0,
              "epochs": epochs}
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
