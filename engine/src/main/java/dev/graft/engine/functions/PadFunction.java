package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

/** Zero padding with non-negative pads per axis; the gradient is the padded gradient's interior (a crop). */
public final class PadFunction extends Function {
    private final int[] before;
    private final int[] after;
    private Shape xShape;

    public PadFunction(int[] before, int[] after) {
        this.before = before.clone();
        this.after = after.clone();
    }

    @Override
    protected NDArray forward(NDArray... in) {
        xShape = in[0].shape();
        return in[0].backend().pad(in[0], before, after);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().crop(g, before, xShape)};
    }
}
