package dev.graft.engine.functions;

import dev.graft.engine.DType;
import dev.graft.engine.Function;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;

/** Sum over the dimensions in which the target shape is 1 or absent (sum of everything: a scalar target). */
public final class SumToFunction extends Function {
    private final Shape target;
    private Shape from;
    private DType dtype;

    public SumToFunction(Shape target) {
        this.target = target;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        from = in[0].shape();
        dtype = in[0].dtype();
        return in[0].backend().sumTo(in[0], target);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        // Broadcast g back: zeros of the input's shape plus g.
        Backend b = g.backend();
        NDArray zeros = b.empty(dtype, from, Layout.ROW_MAJOR);
        b.fill(zeros, 0);
        return new NDArray[] {b.add(zeros, g)};
    }
}
