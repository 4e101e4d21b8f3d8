package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** Softmax over the last axis; the backward pass is {@code y * (dy - sum(dy * y))} per row, from the saved output. */
public final class SoftmaxFunction extends Function {
    private NDArray y;

    @Override
    protected NDArray forward(NDArray... in) {
        NDArray x = RowMajor.of(in[0]);
        NDArray out = x.backend().softmax(x);
        if (recording()) {
            y = save(out);
        }
        return out;
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray dy = RowMajor.of(g);
        return new NDArray[] {dy.backend().softmaxBackward(dy, y)};
    }

    @Override
    protected void release() {
        y = null;
    }
}
