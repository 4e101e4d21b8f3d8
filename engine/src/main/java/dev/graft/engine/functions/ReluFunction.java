package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** {@code max(x, 0)}; the gradient at exactly 0 is 0, as in PyTorch. */
public final class ReluFunction extends Function {
    private NDArray y;

    @Override
    protected NDArray forward(NDArray... in) {
        NDArray out = in[0].backend().relu(in[0]);
        if (recording()) {
            y = save(out);
        }
        return out;
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().reluBackward(g, y, gradientWritable())};
    }

    @Override
    protected void release() {
        y = null;
    }
}
