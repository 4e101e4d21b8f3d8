#!/usr/bin/env python3
"""Driver of bench/train_bench.sh: runs every configuration of `graft bench` and the same work in PyTorch, each
in its own process (so peak RSS is that configuration's alone), under `flock /tmp/bench.lock`, and prints the
side-by-side table (bench/train_bench_report.py). A configuration whose timed loop saw more than --noisy CPUs of
other processes' work is run again (up to --retries times) and the quietest attempt is kept.

    bench/train_bench.py --graft-cp CLASSPATH [--arch resnet18,resnet50] [--batch 32] [--image-size 224]
                         [--only train,frozen,cached,infer] [--channels-last] [--bf16] [--rounds 1] [--out bench/out/train]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_PY = "/usr/bin/python3"  # Debian's interpreter, the one with torch 1.13 (see RESULTS-torch-cpu.md)


def short(arch):
    return "r" + arch[len("resnet"):] if arch.startswith("resnet") else arch


def busy_cpus(seconds=2.0):
    """CPUs busy over the next `seconds` (from /proc/stat; this driver sleeps meanwhile, so it is other processes)."""
    def busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    hz = os.sysconf("SC_CLK_TCK")
    b0 = busy()
    time.sleep(seconds)
    return (busy() - b0) / hz / seconds


def wait_quiet(max_busy, max_wait):
    """Waits until other processes use less than max_busy CPUs (the load average would count our own last run)."""
    start = time.time()
    while busy_cpus() > max_busy and time.time() - start < max_wait:
        time.sleep(3)
    return time.time() - start


def run(cmd, out_path, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if p.returncode != 0 or not os.path.exists(out_path):
        print("FAILED (rc %d): %s\n%s" % (p.returncode, " ".join(cmd), p.stdout[-3000:]), flush=True)
        return None
    with open(out_path) as f:
        doc = json.load(f)
    return doc["results"][0] if "results" in doc else doc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graft-cp", required=True, help="class path of the graft command line")
    ap.add_argument("--java-opts", default="-Dorg.bytedeco.javacpp.nopointergc=true -XX:+UseParallelGC",
                    help="JVM options (default: the graft launcher's)")
    ap.add_argument("--arch", default="resnet18,resnet50")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--only", default="train,frozen,cached,infer")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true", help="also run PyTorch with channels_last tensors")
    ap.add_argument("--bf16", action="store_true",
                    help="fine-tuning (train) only: also run graft bench --precision bf16 and PyTorch's bf16 autocast, "
                         "NCHW and channels_last")
    ap.add_argument("--lock", default="/tmp/bench.lock")
    ap.add_argument("--quiet-cpus", type=float, default=0.25,
                    help="wait (up to --quiet-wait s) until other processes use fewer CPUs than this")
    ap.add_argument("--quiet-wait", type=int, default=300)
    ap.add_argument("--noisy", type=float, default=0.15)
    ap.add_argument("--retries", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every configuration this many times, sides alternating; report the median round")
    ap.add_argument("--java-opts-extra", default=os.environ.get("GRAFT_JAVA_OPTS", ""),
                    help="added to the JVM options (default: $GRAFT_JAVA_OPTS, as the graft launcher does)")
    ap.add_argument("--out", default=os.path.join(HERE, "out", "train"))
    ap.add_argument("--quick", action="store_true",
                    help="check that everything runs: 1 warm-up and 1 timed iteration per side, no waiting for a quiet machine "
                         "(figures mean nothing)")
    a = ap.parse_args()
    a.java_opts = (a.java_opts_extra + " " + a.java_opts).strip()
    quick = ["--iters", "1", "--warmup", "1", "--min-time", "0"] if a.quick else []
    if a.quick:
        a.quiet_wait, a.retries, a.rounds = 0, 0, 1
    os.makedirs(a.out, exist_ok=True)
    kinds = a.only.split(",")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))

    jobs = []  # (side, config name, command builder)
    for arch in a.arch.split(","):
        s = short(arch)
        names = []
        for kind in ("train", "frozen", "cached"):
            if kind in kinds:
                names.append((kind, "%s_%s_b%d" % (s, kind, a.batch)))
        if "infer" in kinds:
            names.append(("infer", "%s_infer_b1" % s))
            if a.batch != 1:
                names.append(("infer", "%s_infer_b%d" % (s, a.batch)))
        for kind, name in names:
            jobs.append(("graft", name, arch))
            jobs.append(("torch", name, arch))
            if kind == "frozen":
                jobs.append(("torch", name.replace("_frozen_", "_frozentrack_"), arch))
            if a.channels_last:
                jobs.append(("torch-cl", name, arch))
            if a.bf16 and kind == "train":
                jobs += [("graft-bf16", name, arch), ("torch-bf16", name, arch), ("torch-bf16-cl", name, arch)]

    # Rounds alternate the two sides config by config (graft, torch, torch, ... then again), so both see the same
    # machine: on this shared VM the speed of either drifts by 5-10% over minutes with no visible load.
    rounds = {}
    start = time.time()
    for rnd in range(a.rounds):
        for side, name, arch in jobs:
            attempts = []
            for attempt in range(1 + a.retries):
                waited = wait_quiet(a.quiet_cpus, a.quiet_wait)
                out = os.path.join(a.out, "%s_%s_round%d.json" % (side, name, rnd + 1))
                if os.path.exists(out):
                    os.remove(out)
                if side.startswith("graft"):
                    cmd = ["flock", a.lock, "java"] + a.java_opts.split() + ["-cp", a.graft_cp, "dev.graft.cli.GraftCli",
                           "bench", "--arch", arch, "--batch", str(a.batch), "--image-size", str(a.image_size), "--only", name,
                           "--json", out] + quick + (["--precision", "bf16"] if side == "graft-bf16" else [])
                else:
                    cmd = ["flock", a.lock, TORCH_PY, os.path.join(HERE, "train_bench_torch.py"), "--config", name,
                           "--image-size", str(a.image_size), "--threads", str(a.threads), "--out", out] + quick
                    if side in ("torch-cl", "torch-bf16-cl"):
                        cmd.append("--channels-last")
                    if side.startswith("torch-bf16"):
                        cmd.append("--bf16")
                r = run(cmd, out, env)
                if r is None:
                    break
                r["side"] = side
                r["quiet_waited_s"] = waited
                attempts.append(r)
                print("round %d  %-9s %-22s median %9.1f ms  %9.2f img/s  peak RSS %6.0f MiB  bg CPU %.2f%s" % (
                    rnd + 1, side, name, r["median_s"] * 1e3, r["img_per_s_median"], r["peak_rss_mib"],
                    r["others_cpu_per_wall"],
                    "  (noisy, again)" if r["others_cpu_per_wall"] > a.noisy and attempt < a.retries else ""), flush=True)
                if r["others_cpu_per_wall"] <= a.noisy:
                    break
            if attempts:
                best = min(attempts, key=lambda r: r["others_cpu_per_wall"])
                best["attempts"] = [dict(median_s=x["median_s"], others_cpu_per_wall=x["others_cpu_per_wall"]) for x in attempts]
                rounds.setdefault((side, name), []).append(best)
    results = []
    for (side, name), rs in rounds.items():
        # The round with the median speed stands for the configuration; every round's figures are kept.
        rs_sorted = sorted(rs, key=lambda r: r["img_per_s_median"])
        rep = dict(rs_sorted[(len(rs_sorted) - 1) // 2])
        rep["rounds"] = [dict(median_s=r["median_s"], img_per_s_median=r["img_per_s_median"], peak_rss_mib=r["peak_rss_mib"],
                              others_cpu_per_wall=r["others_cpu_per_wall"]) for r in rs]
        rep["peak_rss_mib"] = max(r["peak_rss_mib"] for r in rs)
        rep["others_cpu_per_wall"] = max(r["others_cpu_per_wall"] for r in rs)
        results.append(rep)
    doc = dict(date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), wall_s=time.time() - start, batch=a.batch, rounds=a.rounds,
               java_opts=a.java_opts,
               image_size=a.image_size, threads=a.threads, machine=open("/proc/cpuinfo").read().split("model name")[1]
               .split("\n")[0].strip(": \t"), results=results)
    path = os.path.join(a.out, "train_bench.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print()
    subprocess.run([sys.executable, os.path.join(HERE, "train_bench_report.py"), path])


if __name__ == "__main__":
    main()
