package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.BatchNormGrads;

/**
 * Batch norm with fixed statistics (eval mode, or a frozen layer under the HOLD policy): inputs x, gamma,
 * beta; the running mean and variance are constants, so gradients flow to x and the affine parameters only.
 */
public final class BatchNormInferenceFunction extends Function {
    private final double eps;
    private final NDArray mean;
    private final NDArray variance;
    private NDArray x;
    private NDArray gamma;

    public BatchNormInferenceFunction(NDArray mean, NDArray variance, double eps) {
        this.mean = mean;
        this.variance = variance;
        this.eps = eps;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        // batchNormBackward takes x whatever is asked of it (the weight gradient reads it; eval-mode dx does
        // not, but the SPI has no way to say so), so keep it whenever this call is recorded.
        if (recording()) {
            x = save(in[0]);
        }
        gamma = save(in[1]);
        return in[0].backend().batchNormInference(in[0], in[1], in[2], mean, variance, eps);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        boolean params = needsInputGrad(1) || needsInputGrad(2);
        BatchNormGrads r = g.backend().batchNormBackward(g, x, gamma, mean, variance, eps, false,
                needsInputGrad(0), params);
        return new NDArray[] {r.input(), needsInputGrad(1) ? r.weight() : null, needsInputGrad(2) ? r.bias() : null};
    }

    @Override
    protected void release() {
        x = null;
        gamma = null;
    }
}
