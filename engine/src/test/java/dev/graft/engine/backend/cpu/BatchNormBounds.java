package dev.graft.engine.backend.cpu;

import dev.graft.engine.Shape;

import static dev.graft.engine.backend.cpu.Oracle.U;

/**
 * Batch norm's per-channel tolerances, shared by the batch-norm properties (the derivation is in
 * {@link CpuBatchNormProperties}). Batch norm divides by sigma = sqrt(var + eps): with A = max|x| + |mean| and
 * K = A / sigma, a float sum over M = N*H*W elements is off by at most about M*u*A in the mean and M*u*A^2 in the
 * variance, which moves y by about M*u*|gamma|*(K + K^2); the backward has the same structure. A factor of 8
 * covers the few extra roundings per element. The output-gradient bounds assume |dy| <= 1.
 */
final class BatchNormBounds {
    private BatchNormBounds() {
    }

    /** Per-channel statistics of x in double: mean, biased variance, A = max|x| + |mean|, M. */
    record Stats(double[] mean, double[] var, double[] a, int m) {
        static Stats of(float[] x, Shape s) {
            int n = s.dim(0), c = s.dim(1), hw = s.dim(2) * s.dim(3);
            double[] mean = new double[c];
            double[] var = new double[c];
            double[] max = new double[c];
            for (int ch = 0; ch < c; ch++) {
                double sum = 0;
                for (int b = 0; b < n; b++) {
                    for (int p = 0; p < hw; p++) {
                        double v = x[(b * c + ch) * hw + p];
                        sum += v;
                        max[ch] = Math.max(max[ch], Math.abs(v));
                    }
                }
                mean[ch] = sum / (n * hw);
                double sq = 0;
                for (int b = 0; b < n; b++) {
                    for (int p = 0; p < hw; p++) {
                        double d = x[(b * c + ch) * hw + p] - mean[ch];
                        sq += d * d;
                    }
                }
                var[ch] = sq / (n * hw);
                max[ch] += Math.abs(mean[ch]);
            }
            return new Stats(mean, var, max, n * hw);
        }

        double k(int ch, double variance, double eps) {
            return a[ch] / Math.sqrt(variance + eps);
        }
    }

    /** Training forward output y = gamma * (x - mean) / sigma + beta. */
    static double trainingOutput(int m, double gamma, double beta, double k) {
        return 8 * (m + 2) * U * (Math.abs(gamma) * (k + k * k) + Math.abs(beta));
    }

    /** The batch mean. */
    static double mean(int m, double a) {
        return 8 * (m + 2) * U * a;
    }

    /** The batch's biased variance. */
    static double variance(int m, double a) {
        return 8 * (m + 2) * U * a * a;
    }

    /** dx with batch statistics; k = (A + |mean|) / sigma for the mean and variance the backward was given. */
    static double inputGradientBatch(int m, double gamma, double sigma, double k) {
        return 8 * (m + 2) * U * Math.abs(gamma) / sigma * (1 + k) * (1 + k);
    }

    /** dx with fixed statistics: dy * gamma / sigma, elementwise. */
    static double inputGradientFixed(double gamma, double sigma) {
        return 8 * U * Math.abs(gamma) / sigma;
    }

    /** dgamma = sum(dy * xhat) over the channel; sumAbsDy = sum |dy| over it. */
    static double weightGradient(int m, double sumAbsDy, double k) {
        return 8 * (m + 2) * U * sumAbsDy * k * (1 + k);
    }

    /** dbeta = sum(dy) over the channel. */
    static double biasGradient(int m, double sumAbsDy) {
        return (m + 2) * U * sumAbsDy;
    }

    /** tol for every element of an [N,C,H,W] array from a per-channel value. */
    static double[] perChannel(Shape s, double[] tolC) {
        int c = s.dim(1), hw = s.dim(2) * s.dim(3);
        double[] t = new double[s.numel()];
        for (int i = 0; i < t.length; i++) {
            t[i] = tolC[(i / hw) % c];
        }
        return t;
    }

    /** sum |v| over channel ch of row-major [N,C,H,W] data. */
    static double sumAbs(float[] v, Shape s, int ch) {
        int n = s.dim(0), c = s.dim(1), hw = s.dim(2) * s.dim(3);
        double t = 0;
        for (int b = 0; b < n; b++) {
            for (int p = 0; p < hw; p++) {
                t += Math.abs(v[(b * c + ch) * hw + p]);
            }
        }
        return t;
    }
}
