#!/usr/bin/python3
"""Expected linear CKA values for CkaTest, computed with numpy independently of Graft's Java code.

Run with /usr/bin/python3 (numpy). Writes cka_numpy.json next to this script. Deterministic (seeded generator).

- "pairs": fixed random X [n, p] and Y [n, q] (Y partly a linear function of X) and their CKA in two forms:
  biased, feature-space form of Kornblith et al. 2019: ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F), columns centred;
  debiased, via the unbiased centring of the Gram matrices (zero diagonal, subtract adjusted column means, zero
  diagonal again), whose Frobenius inner products equal Song et al. 2012's unbiased HSIC up to one scale.
- "independent": mean and standard deviation of both forms over many independent Gaussian X, Y with the shapes
  given, the reference for the "random activations" test (the biased form's positive bias).
"""
import json
import os

import numpy as np


def biased(x, y):
    xc = x - x.mean(0)
    yc = y - y.mean(0)
    return np.linalg.norm(yc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc))


def unbiased_centre(g):
    n = g.shape[0]
    g = g.copy()
    np.fill_diagonal(g, 0.0)
    means = g.sum(0) / (n - 2)
    means -= means.sum() / (2 * (n - 1))
    g -= means[:, None]
    g -= means[None, :]
    np.fill_diagonal(g, 0.0)
    return g


def debiased(x, y):
    kx = unbiased_centre(x @ x.T)
    ky = unbiased_centre(y @ y.T)
    return (kx * ky).sum() / (np.linalg.norm(kx) * np.linalg.norm(ky))


rng = np.random.default_rng(20261207)
pairs = []
for n, p, q, mix in [(24, 10, 7, 0.5), (12, 30, 5, 0.9), (40, 6, 6, 0.0)]:
    x = rng.standard_normal((n, p))
    y = mix * (x @ rng.standard_normal((p, q))) + (1 - mix) * rng.standard_normal((n, q)) * 3.0
    pairs.append({"x": x.tolist(), "y": y.tolist(), "biased": biased(x, y), "debiased": debiased(x, y)})

independent = []
for n, p, q, trials in [(32, 64, 64, 4000)]:
    b, d = [], []
    for _ in range(trials):
        x = rng.standard_normal((n, p))
        y = rng.standard_normal((n, q))
        b.append(biased(x, y))
        d.append(debiased(x, y))
    independent.append({"n": n, "p": p, "q": q, "trials": trials,
                        "biased_mean": float(np.mean(b)), "biased_std": float(np.std(b)),
                        "debiased_mean": float(np.mean(d)), "debiased_std": float(np.std(d))})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cka_numpy.json")
with open(out, "w") as f:
    json.dump({"pairs": pairs, "independent": independent}, f, indent=1)
print("wrote", out, [(i["biased_mean"], i["biased_std"], i["debiased_mean"], i["debiased_std"]) for i in independent])
