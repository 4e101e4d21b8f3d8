package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

/** {@code a * b} elementwise, b broadcast to a (right-aligned). */
public final class MulFunction extends Function {
    private NDArray a;
    private NDArray b;
    private Shape bShape;

    @Override
    protected NDArray forward(NDArray... in) {
        bShape = in[1].shape();
        if (needsInputGrad(1)) {
            a = save(in[0]);
        }
        if (needsInputGrad(0)) {
            b = save(in[1]);
        }
        return in[0].backend().mul(in[0], in[1]);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray ga = needsInputGrad(0) ? g.backend().mul(g, b) : null;
        NDArray gb = null;
        if (needsInputGrad(1)) {
            NDArray full = g.backend().mul(g, a);
            gb = full.shape().equals(bShape) ? full : g.backend().sumTo(full, bShape);
        }
        return new NDArray[] {ga, gb};
    }

    @Override
    protected void release() {
        a = null;
        b = null;
    }
}
