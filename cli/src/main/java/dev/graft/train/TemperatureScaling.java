package dev.graft.train;

import dev.graft.models.Temperature;

/**
 * Fits the temperature T of softmax(logits / T) on a labelled set by minimising the mean negative log-likelihood
 * (Guo et al. 2017), as {@code graft train --calibrate} does on the validation set.
 *
 * <p>The fit works on b = 1/T: the mean NLL f(b) = mean_i [logsumexp(b z_i) - b z_i,y_i] is convex in b (a
 * log-sum-exp of functions linear in b, minus a linear term), with f'(b) = mean_i (E_p[z_i] - z_i,y_i) and
 * f''(b) = mean_i Var_p(z_i), p = softmax(b z_i). So the minimum on [1/{@value Temperature#MAX}, 1/{@value Temperature#MIN}]
 * is the one root of the increasing f', found by Newton steps kept inside a shrinking bracket (bisection when a step
 * would leave it): deterministic, no starting-point or learning-rate choice. When f' has no root inside, the fit
 * stops at the bound and says so (a validation set the model separates perfectly pushes T towards 0).
 *
 * <p>Logits may be shifted per image by any constant without changing the fit (softmax ignores it), so the
 * log-probabilities of an unscaled softmax serve as logits.
 */
public final class TemperatureScaling {
    private TemperatureScaling() {
    }

    /** The fitted T, the mean NLL at T = 1 and at T, and whether T sits on a bound of [MIN, MAX]. */
    public record Fit(double temperature, double nllBefore, double nllAfter, boolean atBound) {
    }

    /** {@code logits[i]} of image i (any per-row shift), {@code labels[i]} its class. */
    public static Fit fit(double[][] logits, int[] labels) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("no images to fit a temperature on");
        }
        if (logits.length != labels.length) {
            throw new IllegalArgumentException(logits.length + " rows of logits for " + labels.length + " labels");
        }
        double lo = 1 / Temperature.MAX, hi = 1 / Temperature.MIN;
        double[] d = new double[2];
        double b;
        boolean atBound = false;
        derivatives(logits, labels, lo, d);
        if (d[0] >= 0) {
            b = lo;
            atBound = true;
        } else {
            derivatives(logits, labels, hi, d);
            if (d[0] <= 0) {
                b = hi;
                atBound = true;
            } else {
                b = 1;
                for (int it = 0; it < 200; it++) {
                    derivatives(logits, labels, b, d);
                    if (d[0] == 0) {
                        break;
                    }
                    if (d[0] > 0) {
                        hi = b;
                    } else {
                        lo = b;
                    }
                    double next = d[1] > 0 ? b - d[0] / d[1] : Double.NaN;
                    if (!(next > lo && next < hi)) {
                        next = (lo + hi) / 2;
                    }
                    boolean done = Math.abs(next - b) <= 1e-14 * b || hi - lo <= 1e-15 * b;
                    b = next;
                    if (done) {
                        break;
                    }
                }
            }
        }
        double t = 1 / b;
        return new Fit(t, meanNll(logits, labels, 1), meanNll(logits, labels, t), atBound);
    }

    /** {f'(b), f''(b)} of the mean NLL at b = 1/T. */
    private static void derivatives(double[][] z, int[] y, double b, double[] out) {
        double g = 0, h = 0;
        for (int i = 0; i < z.length; i++) {
            double[] row = z[i];
            double max = Double.NEGATIVE_INFINITY;
            for (double v : row) {
                max = Math.max(max, v);
            }
            double s = 0, m1 = 0, m2 = 0;
            for (double v : row) {
                double e = Math.exp(b * (v - max));
                s += e;
                m1 += e * (v - max);
                m2 += e * (v - max) * (v - max);
            }
            double mean = m1 / s;
            g += mean - (row[y[i]] - max);
            h += Math.max(0, m2 / s - mean * mean);
        }
        out[0] = g / z.length;
        out[1] = h / z.length;
    }

    /** Mean NLL of softmax(z / T). */
    public static double meanNll(double[][] z, int[] y, double t) {
        double sum = 0;
        for (int i = 0; i < z.length; i++) {
            sum += nll(z[i], 0, z[i].length, y[i], t);
        }
        return sum / z.length;
    }

    /** Summed NLL of softmax(logits / T) over a batch, {@code logits} row-major [labels.length, classes]. */
    static double nllSum(float[] logits, int classes, int[] labels, double t) {
        double sum = 0;
        double[] row = new double[classes];
        for (int i = 0; i < labels.length; i++) {
            for (int k = 0; k < classes; k++) {
                row[k] = logits[i * classes + k];
            }
            sum += nll(row, 0, classes, labels[i], t);
        }
        return sum;
    }

    private static double nll(double[] z, int off, int c, int y, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < c; k++) {
            max = Math.max(max, z[off + k]);
        }
        double s = 0;
        for (int k = 0; k < c; k++) {
            s += Math.exp((z[off + k] - max) / t);
        }
        return Math.log(s) - (z[off + y] - max) / t;
    }

    /**
     * Log-probabilities as logits for {@link #fit}: log p, floored at log(Double.MIN_VALUE) (about -744.4) where a
     * probability underflowed to 0, so every value is finite.
     */
    public static double[][] logits(double[][] probs) {
        double floor = Math.log(Double.MIN_VALUE);
        double[][] z = new double[probs.length][];
        for (int i = 0; i < probs.length; i++) {
            z[i] = new double[probs[i].length];
            for (int k = 0; k < z[i].length; k++) {
                z[i][k] = probs[i][k] > 0 ? Math.log(probs[i][k]) : floor;
            }
        }
        return z;
    }
}
