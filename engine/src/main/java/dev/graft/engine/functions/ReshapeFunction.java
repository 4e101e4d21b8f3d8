package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

/** A view with another shape of equal size. */
public final class ReshapeFunction extends Function {
    private final Shape to;
    private Shape from;

    public ReshapeFunction(Shape to) {
        this.to = to;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        from = in[0].shape();
        return in[0].reshape(to);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.reshape(from)};
    }
}
