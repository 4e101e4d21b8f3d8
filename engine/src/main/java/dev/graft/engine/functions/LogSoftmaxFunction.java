package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** Log-softmax over dimension 1 of [N,C]. */
public final class LogSoftmaxFunction extends Function {
    private NDArray y;

    @Override
    protected NDArray forward(NDArray... in) {
        NDArray out = in[0].backend().logSoftmax(in[0]);
        if (recording()) {
            y = save(out);
        }
        return out;
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().logSoftmaxBackward(g, y)};
    }

    @Override
    protected void release() {
        y = null;
    }
}
