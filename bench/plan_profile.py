#!/usr/bin/env python3
"""Reads the stdout of dev.graft.runtime.PlanProfile run with ONEDNN_VERBOSE=profile_exec and prints, per timed call,
its wall time, the sum of its oneDNN primitive times and the gap (Java, glue, allocation), then the median call's
time per primitive kind and implementation. Usage: plan_profile.py LOG"""
import collections
import statistics
import sys

calls, prims, current, timed = [], [], [], False
for line in open(sys.argv[1]):
    line = line.strip()
    if line == "#timed":
        timed, current = True, []
    elif line.startswith("#call "):
        _, i, ms = line.split()
        calls.append(float(ms))
        prims.append(current)
        current = []
    elif timed and line.startswith("onednn_verbose") and ",exec," in line:
        f = line.split(",")
        # onednn_verbose,[timestamp,]v1,primitive,exec,cpu,KIND,IMPL,PROP,MEMS,ATTR,AUX,PROBLEM,TIME
        k = f.index("exec")
        current.append((f[k + 2], f[k + 3], f[-2] if f[-1] == "" else f[-1], float(f[-1])))
if not calls:
    sys.exit("no '#call' lines: was the log made by PlanProfile?")
rows = []
for ms, p in zip(calls, prims):
    s = sum(t for *_, t in p)
    rows.append((ms, s, len(p)))
    print(f"call {ms:8.3f} ms  primitives {s:8.3f} ms in {len(p):3d}  gap {ms - s:7.3f} ms")
med = statistics.median(r[0] for r in rows)
print(f"median wall {med:.3f}  median primitive sum {statistics.median(r[1] for r in rows):.3f}  "
      f"median gap {statistics.median(r[0] - r[1] for r in rows):.3f}")
i = min(range(len(rows)), key=lambda j: abs(rows[j][0] - med))
by = collections.defaultdict(lambda: [0.0, 0])
for kind, impl, _, t in prims[i]:
    by[(kind, impl)][0] += t
    by[(kind, impl)][1] += 1
for (kind, impl), (t, n) in sorted(by.items(), key=lambda kv: -kv[1][0]):
    print(f"  {t:8.3f} ms  {n:3d}x  {kind:14s} {impl}")
print("slowest primitives of that call:")
for kind, impl, problem, t in sorted(prims[i], key=lambda p: -p[3])[:8]:
    print(f"  {t:8.3f} ms  {kind:12s} {impl:34s} {problem}")
