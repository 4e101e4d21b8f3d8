package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.BatchNormGrads;

/**
 * Batch norm with fixed statistics (eval mode, or a frozen layer under the HOLD policy): inputs x, gamma,
 * beta; the running mean and variance are constants, so gradients flow to x and the affine parameters only.
 * With {@code relu} the output is {@code relu(bn(x))}, applied in place (see {@link BatchNormTrainingFunction}).
 */
public final class BatchNormInferenceFunction extends Function {
    private final double eps;
    private final NDArray mean;
    private final NDArray variance;
    private final boolean relu;
    private NDArray x;
    private NDArray gamma;
    private NDArray y;

    public BatchNormInferenceFunction(NDArray mean, NDArray variance, double eps) {
        this(mean, variance, eps, false);
    }

    public BatchNormInferenceFunction(NDArray mean, NDArray variance, double eps, boolean relu) {
        this.mean = mean;
        this.variance = variance;
        this.eps = eps;
        this.relu = relu;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        // batchNormBackward takes x whatever is asked of it (the weight gradient reads it; eval-mode dx does
        // not, but the SPI has no way to say so), so keep it whenever this call is recorded.
        if (recording()) {
            x = save(in[0]);
        }
        gamma = save(in[1]);
        NDArray out = in[0].backend().batchNormInference(in[0], in[1], in[2], mean, variance, eps);
        if (relu) {
            out.backend().reluInPlace(out);
            if (recording()) {
                y = save(out);
            }
        }
        return out;
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray gn = relu ? g.backend().reluBackward(g, y, gradientWritable()) : g;
        // The masked gradient is ours (unless it is g itself and g is not writable): dx may go over it.
        boolean ours = gn.buffer() != g.buffer() || gradientWritable();
        boolean params = needsInputGrad(1) || needsInputGrad(2);
        BatchNormGrads r = g.backend().batchNormBackward(gn, x, gamma, mean, variance, eps, false,
                needsInputGrad(0), params, ours);
        ReluGradients.free(gn, g, r.input());
        return new NDArray[] {r.input(), needsInputGrad(1) ? r.weight() : null, needsInputGrad(2) ? r.bias() : null};
    }

    @Override
    protected void release() {
        x = null;
        gamma = null;
        y = null;
    }
}
