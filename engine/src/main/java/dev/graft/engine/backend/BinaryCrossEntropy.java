package dev.graft.engine.backend;

/**
 * Binary cross-entropy with logits, one sigmoid per element of [N,L] logits, in double on the host (the loss arrays
 * are small: batch x labels). Every backend computes it here after copying the logits to the host, as
 * {@link LogSoftmax} is shared; the result is rounded to the logits' dtype once, at the end.
 *
 * <p>Per element, with target y in [0, 1] and positive weight p (torch's {@code pos_weight}, 1 when absent), torch's
 * {@code BCEWithLogitsLoss} is {@code (1-y) x + (1 + (p-1) y) softplus(-x)}. Expanding {@code x = softplus(x) -
 * softplus(-x)} gives the same value as {@code (1-y) softplus(x) + p y softplus(-x)}, with {@code softplus(z) =
 * max(z,0) + log1p(exp(-|z|))}: no term cancels against another for y in {0, 1}, so the loss keeps its relative
 * precision for confident logits (up to +-40 and beyond) where the direct form subtracts nearly equal numbers. The
 * gradient is {@code (1-y) sigmoid(x) - p y sigmoid(-x)} (the familiar {@code sigmoid(x) - y} when p = 1), each
 * sigmoid taken from the side where exp does not overflow.
 *
 * <p>Reduction: a NaN target means "unknown" and is left out of the loss and its gradient; the mean is over the
 * KNOWN targets: the sum of the known elements' losses divided by their count K (torch's mean reduction divides by
 * all N*L elements; with a mask this divides by K, as {@code loss[mask].mean()} does). A batch with no known target
 * has loss 0 and gradient 0 (nothing to learn from; {@code loss[mask].mean()} would be NaN). A NaN logit at a known
 * target gives NaN; an infinite one gives the limit of the loss (torch's direct form has 0 * inf = NaN there).
 */
public final class BinaryCrossEntropy {
    private BinaryCrossEntropy() {
    }

    /** The number of known (non-NaN) targets. */
    public static int known(float[] targets) {
        int k = 0;
        for (float t : targets) {
            if (!Float.isNaN(t)) {
                k++;
            }
        }
        return k;
    }

    /** log(1 + exp(z)) without overflow or loss of small values. */
    static double softplus(double z) {
        return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
    }

    /** 1 / (1 + exp(-z)), exp taken on the side where it does not overflow. */
    static double sigmoid(double z) {
        if (z >= 0) {
            return 1 / (1 + Math.exp(-z));
        }
        double e = Math.exp(z);
        return e / (1 + e);
    }

    /**
     * Mean loss over the known targets; {@code x} and {@code targets} are row-major [N,L], {@code posWeight} has L
     * entries or is null.
     */
    public static double forward(double[] x, float[] targets, float[] posWeight) {
        int labels = posWeight == null ? 1 : posWeight.length;
        double sum = 0;
        int k = 0;
        for (int i = 0; i < x.length; i++) {
            double y = targets[i];
            if (Double.isNaN(y)) {
                continue;
            }
            double p = posWeight == null ? 1 : posWeight[i % labels];
            double l = 0;
            if (y != 1) {
                l += (1 - y) * softplus(x[i]);
            }
            if (y != 0) {
                l += p * y * softplus(-x[i]);
            }
            sum += l;
            k++;
        }
        return k == 0 ? 0 : sum / k;
    }

    /** d(mean loss)/dx times {@code dLoss}; 0 at unknown targets. */
    public static double[] backward(double dLoss, double[] x, float[] targets, float[] posWeight) {
        int labels = posWeight == null ? 1 : posWeight.length;
        int k = known(targets);
        double[] dx = new double[x.length];
        if (k == 0) {
            return dx;
        }
        double scale = dLoss / k;
        for (int i = 0; i < x.length; i++) {
            double y = targets[i];
            if (Double.isNaN(y)) {
                continue;
            }
            double p = posWeight == null ? 1 : posWeight[i % labels];
            double g = 0;
            if (y != 1) {
                g += (1 - y) * sigmoid(x[i]);
            }
            if (y != 0) {
                g -= p * y * sigmoid(-x[i]);
            }
            dx[i] = g * scale;
        }
        return dx;
    }
}
