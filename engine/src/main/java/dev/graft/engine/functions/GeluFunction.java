package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** GELU, exact (erf) or torch's tanh approximation; the backward pass multiplies by the derivative at x. */
public final class GeluFunction extends Function {
    private final boolean tanh;
    private NDArray x;

    public GeluFunction(boolean tanh) {
        this.tanh = tanh;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        x = save(in[0]);
        return in[0].backend().gelu(in[0], tanh);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().geluBackward(g, x, tanh)};
    }

    @Override
    protected void release() {
        x = null;
    }
}
