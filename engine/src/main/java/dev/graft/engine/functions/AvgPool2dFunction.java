package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AvgPool2dSpec;

/** Average pooling with padding; the backward pass spreads each output's gradient over its window / divisor. */
public final class AvgPool2dFunction extends Function {
    private final AvgPool2dSpec spec;
    private Shape xShape;

    public AvgPool2dFunction(AvgPool2dSpec spec) {
        this.spec = spec;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        xShape = in[0].shape();
        return in[0].backend().avgPool2d(in[0], spec);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().avgPool2dBackward(g, xShape, spec)};
    }
}
