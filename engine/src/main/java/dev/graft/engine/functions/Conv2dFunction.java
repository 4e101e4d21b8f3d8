package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;

/**
 * 2-D convolution (cross-correlation, as PyTorch): inputs x [N,C,H,W], w [K,C/g,R,S], optional bias [K].
 * Saves x only when the weights need a gradient and w only when the input does, so a frozen layer keeps
 * nothing for a weight gradient and runs no weight-gradient kernel.
 */
public final class Conv2dFunction extends Function {
    private final Conv2dSpec spec;
    private NDArray x;
    private NDArray w;
    private Shape xShape;
    private Shape wShape;

    public Conv2dFunction(Conv2dSpec spec) {
        this.spec = spec;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        xShape = in[0].shape();
        wShape = in[1].shape();
        if (needsInputGrad(1)) {
            x = save(in[0]);
        }
        if (needsInputGrad(0)) {
            w = save(in[1]);
        }
        return in[0].backend().conv2d(in[0], in[1], in[2], spec);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        var be = g.backend();
        NDArray gx = needsInputGrad(0) ? be.conv2dBackwardData(g, w, xShape, spec) : null;
        NDArray gw = needsInputGrad(1) ? be.conv2dBackwardWeights(g, x, wShape, spec) : null;
        NDArray gb = null;
        if (needsInputGrad(2)) {
            gb = be.sumTo(g, Shape.of(wShape.dim(0), 1, 1)).reshape(Shape.of(wShape.dim(0)));
        }
        return new NDArray[] {gx, gw, gb};
    }

    @Override
    protected void release() {
        x = null;
        w = null;
    }
}
