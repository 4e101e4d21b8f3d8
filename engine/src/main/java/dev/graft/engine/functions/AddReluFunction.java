package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

/**
 * {@code relu(a + b)}, b broadcast to a: a residual block's tail as one primitive, so the sum is never a separate
 * array (one pass over memory on cpu, and one activation less to hold). Values and gradients equal those of
 * {@link AddFunction} followed by {@link ReluFunction}: relu's gradient ({@code y <= 0 ? 0 : dy}) goes to both inputs.
 */
public final class AddReluFunction extends Function {
    private Shape bShape;
    private NDArray y;

    @Override
    protected NDArray forward(NDArray... in) {
        bShape = in[1].shape();
        NDArray out = in[0].backend().addRelu(in[0], in[1]);
        if (recording()) {
            y = save(out);
        }
        return out;
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray gs = g.backend().reluBackward(g, y, gradientWritable());
        NDArray gb = null;
        if (needsInputGrad(1)) {
            gb = gs.shape().equals(bShape) ? gs : gs.backend().sumTo(gs, bShape);
        }
        return new NDArray[] {needsInputGrad(0) ? gs : null, gb};
    }

    @Override
    protected void release() {
        y = null;
    }
}
