package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.TransformerKernels;

/**
 * {@code x.narrow(axis, start, length)} (a slice, one part of a split) as a copy; the backward pass puts the
 * gradient back in place between zeros (a concat of zeros, dy and zeros along the axis).
 */
public final class NarrowFunction extends Function {
    private final int axis;
    private final int start;
    private final int length;
    private Shape from;

    public NarrowFunction(int axis, int start, int length) {
        this.axis = axis;
        this.start = start;
        this.length = length;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        from = in[0].shape();
        NDArray x = RowMajor.of(in[0]);
        return x.backend().narrow(x, axis, start, length);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray dy = RowMajor.of(g);
        var be = dy.backend();
        int rest = from.dim(axis) - start - length;
        if (start == 0 && rest == 0) {
            return new NDArray[] {dy};
        }
        NDArray before = start > 0 ? be.zeros(dy.dtype(), TransformerKernels.withDim(from, axis, start)) : null;
        NDArray after = rest > 0 ? be.zeros(dy.dtype(), TransformerKernels.withDim(from, axis, rest)) : null;
        NDArray[] parts = before == null ? new NDArray[] {dy, after}
                : after == null ? new NDArray[] {before, dy} : new NDArray[] {before, dy, after};
        NDArray dx = be.concat(parts, axis);
        if (before != null) {
            before.buffer().close();
        }
        if (after != null) {
            after.buffer().close();
        }
        return new NDArray[] {dx};
    }
}
