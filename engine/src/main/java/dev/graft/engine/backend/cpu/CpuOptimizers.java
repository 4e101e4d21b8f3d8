package dev.graft.engine.backend.cpu;

import dev.graft.engine.GraftException;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.AdamWSpec;
import dev.graft.engine.backend.SgdSpec;

import java.nio.FloatBuffer;

/**
 * Fused SGD and AdamW updates exactly as {@code torch.optim.SGD} and {@code torch.optim.AdamW} (amsgrad off)
 * write them, as one parallel pass over the parameter and its state (per element in double, rounded once, as
 * the reference backend). One pass over ResNet-50's 25.6M parameters reads and writes each float once.
 * The parameter and every state buffer get their versions bumped, so cached weight reorders refresh.
 */
final class CpuOptimizers {
    private final CpuBackend backend;
    private final CpuReorders reorders;
    private final Parallel parallel;

    CpuOptimizers(CpuBackend backend, CpuReorders reorders, Parallel parallel) {
        this.backend = backend;
        this.reorders = reorders;
        this.parallel = parallel;
    }

    void sgd(NDArray param, NDArray grad, NDArray momentumBuffer, SgdSpec s, boolean firstStep) {
        NDArray g = reorders.toLayout(grad, param.layout(), backend);
        NativeBuffer pb = NativeBuffer.of(param);
        NativeBuffer gb = NativeBuffer.of(g);
        NativeBuffer bb = momentumBuffer == null ? null : state(momentumBuffer, param);
        double lr = s.lr(), wd = s.weightDecay(), mom = s.momentum(), damp = 1 - s.dampening();
        boolean nesterov = s.nesterov();
        parallel.forEach(param.numel(), (start, n) -> {
            FloatBuffer p = pb.floats(start, n);
            FloatBuffer gv = gb.floats(start, n);
            FloatBuffer buf = bb == null ? null : bb.floats(start, n);
            for (int i = 0; i < n; i++) {
                double pi = p.get(i);
                double d = gv.get(i) + wd * pi;
                if (buf != null) {
                    double b = firstStep ? d : mom * buf.get(i) + damp * d;
                    buf.put(i, (float) b);
                    d = nesterov ? d + mom * b : b;
                }
                p.put(i, (float) (pi - lr * d));
            }
        });
        CpuReorders.release(g, grad);
        pb.bumpVersion();
        if (bb != null) {
            bb.bumpVersion();
        }
    }

    void adamw(NDArray param, NDArray grad, NDArray m, NDArray v, AdamWSpec s, long step) {
        NDArray g = reorders.toLayout(grad, param.layout(), backend);
        NativeBuffer pb = NativeBuffer.of(param);
        NativeBuffer gb = NativeBuffer.of(g);
        NativeBuffer mb = state(m, param);
        NativeBuffer vb = state(v, param);
        double b1 = s.beta1(), b2 = s.beta2(), eps = s.eps();
        double decay = 1 - s.lr() * s.weightDecay();
        double stepSize = s.lr() / (1 - Math.pow(b1, step));
        double bc2Sqrt = Math.sqrt(1 - Math.pow(b2, step));
        // Chunks are copied to float[] and back (bulk copies): the arithmetic loop over arrays is one the JIT
        // vectorises, which it does not do over buffer accessors. Same double arithmetic, same roundings.
        parallel.forEach(param.numel(), (start, n) -> {
            float[] p = new float[Math.min(n, ADAMW_CHUNK)];
            float[] gv = new float[p.length];
            float[] mv = new float[p.length];
            float[] vv = new float[p.length];
            for (long at = start; at < start + n; at += ADAMW_CHUNK) {
                int len = (int) Math.min(ADAMW_CHUNK, start + n - at);
                pb.floats(at, len).get(p, 0, len);
                gb.floats(at, len).get(gv, 0, len);
                mb.floats(at, len).get(mv, 0, len);
                vb.floats(at, len).get(vv, 0, len);
                adamwChunk(p, gv, mv, vv, len, b1, b2, eps, decay, stepSize, bc2Sqrt);
                pb.floats(at, len).put(p, 0, len);
                mb.floats(at, len).put(mv, 0, len);
                vb.floats(at, len).put(vv, 0, len);
            }
        });
        CpuReorders.release(g, grad);
        pb.bumpVersion();
        mb.bumpVersion();
        vb.bumpVersion();
    }

    private static final int ADAMW_CHUNK = 4096;

    private static void adamwChunk(float[] p, float[] gv, float[] mv, float[] vv, int n, double b1, double b2, double eps,
                                   double decay, double stepSize, double bc2Sqrt) {
        for (int i = 0; i < n; i++) {
            double gi = gv[i];
            double pi = p[i] * decay;
            double mi = b1 * mv[i] + (1 - b1) * gi;
            double vi = b2 * vv[i] + (1 - b2) * gi * gi;
            mv[i] = (float) mi;
            vv[i] = (float) vi;
            p[i] = (float) (pi - stepSize * mi / (Math.sqrt(vi) / bc2Sqrt + eps));
        }
    }

    private static NativeBuffer state(NDArray state, NDArray param) {
        if (!CpuReorders.storedAs(state, param.layout())) {
            throw new GraftException("optimizer state " + state + " is not stored in the layout of its parameter " + param
                    + "; create optimizer state with the parameter's layout");
        }
        return NativeBuffer.of(state);
    }
}
