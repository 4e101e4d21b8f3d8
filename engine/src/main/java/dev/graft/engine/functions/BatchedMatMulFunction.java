package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/**
 * {@code C[i] = op(A[i]) @ op(B[i])} over a batch, A and B 3-D ({@link dev.graft.engine.Functional#bmm} flattens
 * leading batch dimensions into one). As for {@link MatMulFunction}, per batch entry: d op(A) = dC op(B)^T and
 * d op(B) = op(A)^T dC, transposed back where the flag was set.
 */
public final class BatchedMatMulFunction extends Function {
    private final boolean transA;
    private final boolean transB;
    private NDArray a;
    private NDArray b;

    public BatchedMatMulFunction(boolean transA, boolean transB) {
        this.transA = transA;
        this.transB = transB;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        NDArray x = RowMajor.of(in[0]);
        NDArray y = RowMajor.of(in[1]);
        if (needsInputGrad(1)) {
            a = save(x);
        }
        if (needsInputGrad(0)) {
            b = save(y);
        }
        return x.backend().batchedGemm(x, y, transA, transB);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray dc = RowMajor.of(g);
        var be = dc.backend();
        NDArray ga = null;
        NDArray gb = null;
        if (needsInputGrad(0)) {
            ga = transA ? be.batchedGemm(b, dc, transB, true) : be.batchedGemm(dc, b, false, !transB);
        }
        if (needsInputGrad(1)) {
            gb = transB ? be.batchedGemm(dc, a, true, transA) : be.batchedGemm(a, dc, !transA, false);
        }
        return new NDArray[] {ga, gb};
    }

    @Override
    protected void release() {
        a = null;
        b = null;
    }
}
