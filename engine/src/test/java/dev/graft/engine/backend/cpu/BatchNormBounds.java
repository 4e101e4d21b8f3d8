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

    /** Per-channel statistics of x in double: mean, biased variance, A = max|x| + |mean|, max|x - mean|, M. */
    record Stats(double[] mean, double[] var, double[] a, double[] dev, int m) {
        static Stats of(float[] x, Shape s) {
            int n = s.dim(0), c = s.dim(1), hw = s.dim(2) * s.dim(3);
            double[] mean = new double[c];
            double[] var = new double[c];
            double[] max = new double[c];
            double[] dev = new double[c];
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
                        dev[ch] = Math.max(dev[ch], Math.abs(d));
                    }
                }
                var[ch] = sq / (n * hw);
                max[ch] += Math.abs(mean[ch]);
            }
            return new Stats(mean, var, max, dev, n * hw);
        }

        double k(int ch, double variance, double eps) {
            return a[ch] / Math.sqrt(variance + eps);
        }
    }

    /** Training forward output y = gamma * (x - mean) / sigma + beta. */
    static double trainingOutput(int m, double gamma, double beta, double k) {
        return 8 * (m + 2) * U * (Math.abs(gamma) * (k + k * k) + Math.abs(beta));
    }

    /**
     * The training forward's y with two-pass statistics, which oneDNN computes (the mean, then the mean of
     * (x - mean)^2: with x = 1000 + N(0, 1) over M = 196 its variance is off by 5e-7, where E[x^2] - mean^2 in float
     * would be off by about M*u*10^6 = 12). Let sigma = sqrt(var + eps), K = A / sigma as above and
     * Kh = max|x - mean| / sigma (the largest |xhat|). The float mean is off by at most (M+1)*u*max|x|, that is
     * e*sigma with e = (M+1)*u*K; the float variance, the mean of (x - mean')^2 around that mean, equals
     * var + (mean' - mean)^2 up to gamma(M+3) relative, so it is off by at most e^2 + (M+3)*u*(1 + e^2) in units of
     * sigma^2, which moves sigma by half that relative. y = x * scale + shift with scale = gamma / sigma and
     * shift = beta - mean' * scale (or (x - mean') * scale + beta) then errs by at most
     * |gamma| * [(M+1)*u*K (the mean) + Kh * (e^2/2 + (M+3)*u*(1 + e^2)/2 + 3u) (sigma, scale) + 3u*K] + 3u*|beta|
     * (the products and sums of one element, which cancel when |mean| >> sigma: the K terms). Twice that, simplified
     * with (M+3)*u < 1, is the bound; unlike {@link #trainingOutput} it has no K^2 term (a one-pass variance), so it
     * stays meaningful for channels whose mean is far larger than their spread.
     */
    static double trainingOutputTwoPass(int m, double gamma, double beta, double k, double kh) {
        double e = (m + 1) * U * k;
        return Math.abs(gamma) * (2 * (m + 4) * U * k + kh * ((m + 9) * U + 2 * e * e)) + 6 * U * Math.abs(beta);
    }

    /**
     * The biased variance with two-pass statistics (see {@link #trainingOutputTwoPass}): the mean's error d =
     * (M+1)*u*A squared, plus gamma(M+3) relative of var + d^2; twice that.
     */
    static double varianceTwoPass(int m, double a, double variance) {
        double d = (m + 1) * U * a;
        return 2 * (d * d + (m + 3) * U * (variance + d * d));
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
