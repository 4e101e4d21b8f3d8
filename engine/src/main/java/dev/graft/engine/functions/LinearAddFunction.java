package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/**
 * {@code residual + (x w^T + b)} in one kernel ({@link dev.graft.engine.backend.Backend#linearAdd}): inputs x, w, b,
 * residual. For inference only, as {@link LinearGeluFunction}: {@code Functional.linearAdd} uses it only when no
 * gradient will be recorded.
 */
public final class LinearAddFunction extends Function {
    @Override
    protected NDArray forward(NDArray... in) {
        for (int i = 0; i < in.length; i++) {
            if (needsInputGrad(i)) {
                throw new IllegalStateException("linearAdd: the fused kernel has no backward; compose linear and add when a gradient is needed");
            }
        }
        NDArray xs = RowMajor.of(in[0]);
        return xs.backend().linearAdd(xs, RowMajor.of(in[1]), RowMajor.of(in[2]), RowMajor.of(in[3]));
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        throw new IllegalStateException("linearAdd: the fused kernel has no backward (it is used only without gradients)");
    }

    @Override
    protected void release() {
    }
}
