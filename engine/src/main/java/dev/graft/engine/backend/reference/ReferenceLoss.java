package dev.graft.engine.backend.reference;

import dev.graft.engine.Shape;
import dev.graft.engine.backend.LogSoftmax;

/** Log-softmax over the class dimension of [N,C] and the weighted, smoothed negative log-likelihood. */
final class ReferenceLoss {
    private ReferenceLoss() {
    }

    static double[] logSoftmax(Shape s, double[] x) {
        int n = s.dim(0), c = s.dim(1);
        double[] y = new double[x.length];
        for (int i = 0; i < n; i++) {
            System.arraycopy(LogSoftmax.forward(java.util.Arrays.copyOfRange(x, i * c, i * c + c)), 0, y, i * c, c);
        }
        return y;
    }

    static double[] logSoftmaxBackward(Shape s, double[] dy, double[] y) {
        int n = s.dim(0), c = s.dim(1);
        double[] dx = new double[dy.length];
        for (int i = 0; i < n; i++) {
            System.arraycopy(LogSoftmax.backward(java.util.Arrays.copyOfRange(dy, i * c, i * c + c),
                    java.util.Arrays.copyOfRange(y, i * c, i * c + c)), 0, dx, i * c, c);
        }
        return dx;
    }

    /** See {@code Backend#nllLoss}: PyTorch's CrossEntropyLoss on log-probabilities, mean reduction. */
    static double nll(Shape s, double[] lp, int[] labels, float[] weights, double eps) {
        int n = s.dim(0), c = s.dim(1);
        double total = 0;
        double norm = 0;
        for (int i = 0; i < n; i++) {
            double wy = weights == null ? 1 : weights[labels[i]];
            norm += wy;
            total += (1 - eps) * wy * -lp[i * c + labels[i]];
            if (eps > 0) {
                double smooth = 0;
                for (int j = 0; j < c; j++) {
                    smooth += (weights == null ? 1 : weights[j]) * -lp[i * c + j];
                }
                total += eps / c * smooth;
            }
        }
        return total / norm;
    }

    static double[] nllBackward(Shape s, double dLoss, int[] labels, float[] weights, double eps) {
        int n = s.dim(0), c = s.dim(1);
        double norm = 0;
        for (int i = 0; i < n; i++) {
            norm += weights == null ? 1 : weights[labels[i]];
        }
        double[] g = new double[n * c];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                double wj = weights == null ? 1 : weights[j];
                double d = eps / c * wj + (j == labels[i] ? (1 - eps) * wj : 0);
                g[i * c + j] = -d * dLoss / norm;
            }
        }
        return g;
    }
}
