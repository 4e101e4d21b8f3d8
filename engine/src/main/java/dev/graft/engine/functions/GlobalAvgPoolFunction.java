package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

/** Adaptive average pooling to 1x1: the mean over H and W. */
public final class GlobalAvgPoolFunction extends Function {
    private Shape xShape;

    @Override
    protected NDArray forward(NDArray... in) {
        xShape = in[0].shape();
        return in[0].backend().globalAvgPool(in[0]);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().globalAvgPoolBackward(g, xShape)};
    }
}
