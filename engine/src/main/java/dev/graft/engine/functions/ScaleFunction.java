package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** {@code alpha * x} for a constant alpha. */
public final class ScaleFunction extends Function {
    private final double alpha;

    public ScaleFunction(double alpha) {
        this.alpha = alpha;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        return in[0].backend().scale(in[0], alpha);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().scale(g, alpha)};
    }
}
