package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/**
 * {@code y = x w^T + b} in one kernel ({@link dev.graft.engine.backend.Backend#linear}): x [M, in], w [out, in], b
 * [out]. Backward: dx = dy w, dw = dy^T x, db = the column sums of dy ({@link dev.graft.engine.backend.Backend#biasGrad}).
 */
public final class LinearFunction extends Function {
    private NDArray x;
    private NDArray w;

    @Override
    protected NDArray forward(NDArray... in) {
        NDArray xs = RowMajor.of(in[0]);
        NDArray ws = RowMajor.of(in[1]);
        NDArray bs = RowMajor.of(in[2]);
        if (needsInputGrad(1)) {
            x = save(xs);
        }
        if (needsInputGrad(0)) {
            w = save(ws);
        }
        return xs.backend().linear(xs, ws, bs);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray dy = RowMajor.of(g);
        var be = dy.backend();
        NDArray dx = needsInputGrad(0) ? be.gemm(dy, w, false, false) : null;
        NDArray dw = needsInputGrad(1) ? be.gemm(dy, x, true, false) : null;
        NDArray db = needsInputGrad(2) ? be.biasGrad(dy) : null;
        return new NDArray[] {dx, dw, db};
    }

    @Override
    protected void release() {
        x = null;
        w = null;
    }
}
