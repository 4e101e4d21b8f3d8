package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

/** {@code a + b}, b broadcast to a (right-aligned). */
public final class AddFunction extends Function {
    private Shape bShape;

    @Override
    protected NDArray forward(NDArray... in) {
        bShape = in[1].shape();
        return in[0].backend().add(in[0], in[1]);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray gb = null;
        if (needsInputGrad(1)) {
            gb = g.shape().equals(bShape) ? g : g.backend().sumTo(g, bShape);
        }
        return new NDArray[] {needsInputGrad(0) ? g : null, gb};
    }
}
