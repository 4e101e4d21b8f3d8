package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.LogSoftmax;

import java.nio.FloatBuffer;


/**
 * Log-softmax over dim 1 of [N,C] and the weighted, label-smoothed NLL of {@code torch.nn.CrossEntropyLoss}, all as
 * small double-precision Java loops over the [N,C] logits (rounded to float once, at the end), like the reference.
 *
 * <p>Why not oneDNN's {@code softmax_log}: it works in float, and where a row's softmax saturates (one logit far above
 * the rest, as a confident classifier's are) the log-probability of the top class, -log(1 + s) with s tiny, loses s
 * below float's resolution of 1; the backward's exp(y) - 1 then cancels to noise and the error reaches every weight
 * gradient (the network fuzzer found fc gradients 1e-4 off float64 where float64 arithmetic on the same float inputs
 * is 1e-7 off). {@link LogSoftmax} keeps s with log1p and expm1, so the results keep their relative precision near 0.
 * The work is N*C exponentials, negligible beside the network.
 */
final class CpuSoftmaxLoss {
    private final CpuBackend backend;

    CpuSoftmaxLoss(CpuBackend backend) {
        this.backend = backend;
    }

    NDArray logSoftmax(NDArray x) {
        int n = x.shape().dim(0);
        int c = x.shape().dim(1);
        FloatBuffer in = NativeBuffer.of(x).floats(0, x.numel());
        NDArray y = backend.empty(DType.F32, x.shape(), Layout.ROW_MAJOR);
        FloatBuffer out = NativeBuffer.of(y).floats(0, y.numel());
        double[] row = new double[c];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                row[j] = in.get(i * c + j);
            }
            double[] lp = LogSoftmax.forward(row);
            for (int j = 0; j < c; j++) {
                out.put(i * c + j, (float) lp[j]);
            }
        }
        return y;
    }

    NDArray logSoftmaxBackward(NDArray dy, NDArray y) {
        int n = dy.shape().dim(0);
        int c = dy.shape().dim(1);
        FloatBuffer g = NativeBuffer.of(dy).floats(0, dy.numel());
        FloatBuffer lp = NativeBuffer.of(y).floats(0, y.numel());
        NDArray dx = backend.empty(DType.F32, dy.shape(), Layout.ROW_MAJOR);
        FloatBuffer out = NativeBuffer.of(dx).floats(0, dx.numel());
        double[] gr = new double[c];
        double[] yr = new double[c];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                gr[j] = g.get(i * c + j);
                yr[j] = lp.get(i * c + j);
            }
            double[] d = LogSoftmax.backward(gr, yr);
            for (int j = 0; j < c; j++) {
                out.put(i * c + j, (float) d[j]);
            }
        }
        return dx;
    }

    /** See Backend#nllLoss: loss_i = (1-eps) w[y_i] (-lp[i,y_i]) + eps/C sum_c w[c] (-lp[i,c]), over sum_i w[y_i]. */
    NDArray nll(NDArray logProbs, int[] labels, float[] weights, double eps) {
        int n = logProbs.shape().dim(0);
        int c = logProbs.shape().dim(1);
        FloatBuffer lp = NativeBuffer.of(logProbs).floats(0, logProbs.numel());
        double total = 0;
        double norm = 0;
        for (int i = 0; i < n; i++) {
            double wy = weights == null ? 1 : weights[labels[i]];
            norm += wy;
            total += (1 - eps) * wy * -(double) lp.get(i * c + labels[i]);
            if (eps > 0) {
                double smooth = 0;
                for (int j = 0; j < c; j++) {
                    // Widen before multiplying: float * float would round in float, the reference multiplies doubles.
                    double wj = weights == null ? 1 : weights[j];
                    smooth += wj * -(double) lp.get(i * c + j);
                }
                total += eps / c * smooth;
            }
        }
        NDArray out = backend.empty(DType.F32, Shape.scalar(), Layout.ROW_MAJOR);
        NativeBuffer.of(out).floats(0, 1).put(0, (float) (total / norm));
        return out;
    }

    NDArray nllBackward(NDArray dLoss, NDArray logProbs, int[] labels, float[] weights, double eps) {
        int n = logProbs.shape().dim(0);
        int c = logProbs.shape().dim(1);
        double g = NativeBuffer.of(dLoss).floats(0, 1).get(0);
        double norm = 0;
        for (int i = 0; i < n; i++) {
            norm += weights == null ? 1 : weights[labels[i]];
        }
        NDArray out = backend.empty(DType.F32, logProbs.shape(), Layout.ROW_MAJOR);
        FloatBuffer o = NativeBuffer.of(out).floats(0, out.numel());
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c; j++) {
                double wj = weights == null ? 1 : weights[j];
                double d = eps / c * wj + (j == labels[i] ? (1 - eps) * wj : 0);
                o.put(i * c + j, (float) (-d * g / norm));
            }
        }
        return out;
    }

}
