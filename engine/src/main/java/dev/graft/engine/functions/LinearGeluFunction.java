package dev.graft.engine.functions;

import dev.graft.engine.NDArray;
import dev.graft.engine.Function;

/**
 * {@code gelu(x w^T + b)} (exact GELU) in one kernel ({@link dev.graft.engine.backend.Backend#linearGelu}), for
 * inference only: it keeps no pre-activation, so {@code Functional.linearGelu} uses it only when no gradient will be
 * recorded and composes {@link LinearFunction} and {@link GeluFunction} otherwise.
 */
public final class LinearGeluFunction extends Function {
    @Override
    protected NDArray forward(NDArray... in) {
        for (int i = 0; i < in.length; i++) {
            if (needsInputGrad(i)) {
                throw new IllegalStateException("linearGelu: the fused kernel has no backward; compose linear and gelu when a gradient is needed");
            }
        }
        NDArray xs = RowMajor.of(in[0]);
        return xs.backend().linearGelu(xs, RowMajor.of(in[1]), RowMajor.of(in[2]));
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        throw new IllegalStateException("linearGelu: the fused kernel has no backward (it is used only without gradients)");
    }

    @Override
    protected void release() {
    }
}
