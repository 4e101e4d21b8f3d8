package dev.graft.reuse;

import java.util.List;
import java.util.Map;

/**
 * Relative L2 distance ||W1 - W0|| / ||W0|| over a layer's parameters taken together as one vector: every
 * convolution and linear weight and bias and every batch-norm weight (gamma) and bias (beta) of the layer; the
 * running statistics and {@code num_batches_tracked} are buffers, not weights, and are left out.
 */
public final class WeightDistance {
    private WeightDistance() {
    }

    /** NaN when the layer's initial weights are all zero. */
    public static double relative(Map<String, float[]> before, Map<String, float[]> after, List<String> names) {
        double diff = 0, base = 0;
        for (String n : names) {
            float[] a = before.get(n), b = after.get(n);
            if (a == null || b == null || a.length != b.length) {
                throw new IllegalArgumentException("parameter '" + n + "' is missing or differs in size");
            }
            for (int i = 0; i < a.length; i++) {
                double d = (double) b[i] - a[i];
                diff += d * d;
                base += (double) a[i] * a[i];
            }
        }
        return base > 0 ? Math.sqrt(diff) / Math.sqrt(base) : Double.NaN;
    }
}
