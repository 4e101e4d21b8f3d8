package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.softmax_backward;
import org.bytedeco.dnnl.softmax_forward;

import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;

/**
 * Log-softmax over dim 1 of [N,C] with oneDNN's {@code softmax_log} (backward: dy - exp(y) * rowsum(dy),
 * the same formula as the reference), and the weighted, label-smoothed NLL of
 * {@code torch.nn.CrossEntropyLoss} as a small double-precision Java loop over the [N,C] log-probabilities.
 */
final class CpuSoftmaxLoss implements AutoCloseable {
    private record Key(Shape x, boolean backward) {
    }

    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final Map<Key, Step> cache = new HashMap<>();

    CpuSoftmaxLoss(Dnnl dnnl, CpuBackend backend) {
        this.dnnl = dnnl;
        this.backend = backend;
    }

    NDArray logSoftmax(NDArray x) {
        NDArray y = backend.empty(DType.F32, x.shape(), Layout.ROW_MAJOR);
        if (x.numel() > 0) {
            step(new Key(x.shape(), false)).run(dnnl, NativeBuffer.of(x).pointer(), NativeBuffer.of(y).pointer());
        }
        return y;
    }

    NDArray logSoftmaxBackward(NDArray dy, NDArray y) {
        NDArray dx = backend.empty(DType.F32, dy.shape(), Layout.ROW_MAJOR);
        if (dy.numel() > 0) {
            step(new Key(dy.shape(), true)).run(dnnl, NativeBuffer.of(y).pointer(), NativeBuffer.of(dy).pointer(),
                    NativeBuffer.of(dx).pointer());
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

    private Step step(Key k) {
        Step s = cache.get(k);
        if (s == null) {
            s = Dnnl.build("log-softmax " + (k.backward() ? "backward " : "") + k.x(), () -> build(k));
            cache.put(k, s);
        }
        return s;
    }

    private Step build(Key k) {
        memory.desc d = Dnnl.plain(Dnnl.dims(k.x()));
        var fwd = new softmax_forward.primitive_desc(dnnl.engine, prop_kind.forward_training, algorithm.softmax_log, d, d, 1);
        if (!k.backward()) {
            return new Step("log-softmax " + k.x(), dnnl, fwd, new softmax_forward(fwd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                    new memory.desc[] {d, d});
        }
        var bwd = new softmax_backward.primitive_desc(dnnl.engine, algorithm.softmax_log, d, d, d, 1, fwd);
        return new Step("log-softmax backward " + k.x(), dnnl, bwd, new softmax_backward(bwd),
                new int[] {DNNL_ARG_DST, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC}, new memory.desc[] {d, d, d});
    }

    @Override
    public void close() {
        cache.values().forEach(Step::close);
        cache.clear();
    }
}
