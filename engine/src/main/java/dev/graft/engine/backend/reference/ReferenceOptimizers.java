package dev.graft.engine.backend.reference;

import dev.graft.engine.backend.AdamWSpec;
import dev.graft.engine.backend.SgdSpec;

/** Optimizer updates exactly as {@code torch.optim.SGD} and {@code torch.optim.AdamW} (amsgrad off) write them. */
final class ReferenceOptimizers {
    private ReferenceOptimizers() {
    }

    static void sgd(double[] p, double[] g, double[] buf, SgdSpec s, boolean firstStep) {
        for (int i = 0; i < p.length; i++) {
            double d = g[i] + s.weightDecay() * p[i];
            if (buf != null) {
                buf[i] = firstStep ? d : s.momentum() * buf[i] + (1 - s.dampening()) * d;
                d = s.nesterov() ? d + s.momentum() * buf[i] : buf[i];
            }
            p[i] -= s.lr() * d;
        }
    }

    static void adamw(double[] p, double[] g, double[] m, double[] v, AdamWSpec s, long step) {
        double bc1 = 1 - Math.pow(s.beta1(), step);
        double bc2 = 1 - Math.pow(s.beta2(), step);
        double stepSize = s.lr() / bc1;
        double bc2Sqrt = Math.sqrt(bc2);
        for (int i = 0; i < p.length; i++) {
            p[i] *= 1 - s.lr() * s.weightDecay();
            m[i] = s.beta1() * m[i] + (1 - s.beta1()) * g[i];
            v[i] = s.beta2() * v[i] + (1 - s.beta2()) * g[i] * g[i];
            double denom = Math.sqrt(v[i]) / bc2Sqrt + s.eps();
            p[i] -= stepSize * m[i] / denom;
        }
    }
}
