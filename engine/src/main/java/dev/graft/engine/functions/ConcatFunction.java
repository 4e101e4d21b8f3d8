package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** {@code torch.cat(xs, axis)}; the backward pass narrows the gradient back to each input's extent along the axis. */
public final class ConcatFunction extends Function {
    private final int axis;
    private int[] sizes;

    public ConcatFunction(int axis) {
        this.axis = axis;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        sizes = new int[in.length];
        NDArray[] xs = new NDArray[in.length];
        for (int i = 0; i < in.length; i++) {
            xs[i] = RowMajor.of(in[i]);
            sizes[i] = in[i].shape().dim(axis);
        }
        return xs[0].backend().concat(xs, axis);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray dy = RowMajor.of(g);
        NDArray[] parts = new NDArray[sizes.length];
        int start = 0;
        for (int i = 0; i < sizes.length; i++) {
            if (needsInputGrad(i)) {
                parts[i] = dy.backend().narrow(dy, axis, start, sizes[i]);
            }
            start += sizes[i];
        }
        return parts;
    }
}
