package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.Pooled;

/** Max pooling; the gradient goes to the first maximum of each window, as in PyTorch. */
public final class MaxPool2dFunction extends Function {
    private final Pool2dSpec spec;
    private NDArray x;
    private Pooled pooled;

    public MaxPool2dFunction(Pool2dSpec spec) {
        this.spec = spec;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        boolean training = recording();
        pooled = in[0].backend().maxPool2d(in[0], spec, training);
        if (training) {
            x = save(in[0]);
            pin(pooled.workspace());
        }
        return pooled.output();
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().maxPool2dBackward(g, x, pooled, spec)};
    }

    @Override
    protected void release() {
        x = null;
        pooled = null;
    }
}
