package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/**
 * {@code C = op(A) @ op(B)}, op a transpose when its flag is set. With dC the output gradient:
 * d op(A) = dC op(B)^T and d op(B) = op(A)^T dC, transposed back where the flag was set.
 */
public final class MatMulFunction extends Function {
    private final boolean transA;
    private final boolean transB;
    private NDArray a;
    private NDArray b;

    public MatMulFunction(boolean transA, boolean transB) {
        this.transA = transA;
        this.transB = transB;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        if (needsInputGrad(1)) {
            a = save(in[0]);
        }
        if (needsInputGrad(0)) {
            b = save(in[1]);
        }
        return in[0].backend().gemm(in[0], in[1], transA, transB);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        var be = g.backend();
        NDArray ga = null;
        NDArray gb = null;
        if (needsInputGrad(0)) {
            ga = transA ? be.gemm(b, g, transB, true) : be.gemm(g, b, false, !transB);
        }
        if (needsInputGrad(1)) {
            gb = transB ? be.gemm(g, a, true, transA) : be.gemm(a, g, !transA, false);
        }
        return new NDArray[] {ga, gb};
    }

    @Override
    protected void release() {
        a = null;
        b = null;
    }
}
