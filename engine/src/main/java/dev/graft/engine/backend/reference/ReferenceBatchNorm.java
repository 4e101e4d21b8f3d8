package dev.graft.engine.backend.reference;

import dev.graft.engine.Shape;

/**
 * Batch norm per channel of NCHW data. Training normalises with the batch mean and the biased variance
 * (divide by M = N*H*W); the caller updates running statistics. Backward with batch statistics:
 * dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)); with fixed statistics dx = dy*gamma*invstd.
 */
final class ReferenceBatchNorm {
    private ReferenceBatchNorm() {
    }

    /** Returns {y, mean, biased variance}. */
    static double[][] training(Shape s, double[] x, double[] gamma, double[] beta, double eps) {
        int n = s.dim(0), c = s.dim(1), hw = s.dim(2) * s.dim(3);
        double m = (double) n * hw;
        double[] mean = new double[c];
        double[] var = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int b = 0; b < n; b++) {
                for (int p = 0; p < hw; p++) {
                    sum += x[(b * c + ch) * hw + p];
                }
            }
            mean[ch] = sum / m;
            double sq = 0;
            for (int b = 0; b < n; b++) {
                for (int p = 0; p < hw; p++) {
                    double d = x[(b * c + ch) * hw + p] - mean[ch];
                    sq += d * d;
                }
            }
            var[ch] = sq / m;
        }
        return new double[][] {inference(s, x, gamma, beta, mean, var, eps), mean, var};
    }

    static double[] inference(Shape s, double[] x, double[] gamma, double[] beta, double[] mean, double[] var, double eps) {
        int n = s.dim(0), c = s.dim(1), hw = s.dim(2) * s.dim(3);
        double[] y = new double[x.length];
        for (int ch = 0; ch < c; ch++) {
            double invstd = 1 / Math.sqrt(var[ch] + eps);
            for (int b = 0; b < n; b++) {
                for (int p = 0; p < hw; p++) {
                    int i = (b * c + ch) * hw + p;
                    y[i] = (x[i] - mean[ch]) * invstd * gamma[ch] + beta[ch];
                }
            }
        }
        return y;
    }

    /** Returns {dx, dgamma, dbeta}. */
    static double[][] backward(Shape s, double[] dy, double[] x, double[] gamma, double[] mean, double[] var,
                               double eps, boolean batchStatistics) {
        int n = s.dim(0), c = s.dim(1), hw = s.dim(2) * s.dim(3);
        double m = (double) n * hw;
        double[] dx = new double[dy.length];
        double[] dgamma = new double[c];
        double[] dbeta = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double invstd = 1 / Math.sqrt(var[ch] + eps);
            double sumDy = 0;
            double sumDyXhat = 0;
            for (int b = 0; b < n; b++) {
                for (int p = 0; p < hw; p++) {
                    int i = (b * c + ch) * hw + p;
                    sumDy += dy[i];
                    sumDyXhat += dy[i] * (x[i] - mean[ch]) * invstd;
                }
            }
            dgamma[ch] = sumDyXhat;
            dbeta[ch] = sumDy;
            for (int b = 0; b < n; b++) {
                for (int p = 0; p < hw; p++) {
                    int i = (b * c + ch) * hw + p;
                    if (batchStatistics) {
                        double xhat = (x[i] - mean[ch]) * invstd;
                        dx[i] = gamma[ch] * invstd / m * (m * dy[i] - sumDy - xhat * sumDyXhat);
                    } else {
                        dx[i] = dy[i] * gamma[ch] * invstd;
                    }
                }
            }
        }
        return new double[][] {dx, dgamma, dbeta};
    }
}
