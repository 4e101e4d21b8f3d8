package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;

/**
 * Batch norm with the batch's own statistics (training mode): inputs x [N,C,H,W], gamma [C], beta [C].
 * The batch mean and biased variance stay readable after forward, for the caller's running-stat update.
 */
public final class BatchNormTrainingFunction extends Function {
    private final double eps;
    private NDArray x;
    private NDArray gamma;
    private NDArray mean;
    private NDArray variance;

    public BatchNormTrainingFunction(double eps) {
        this.eps = eps;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        BatchNormStats s = in[0].backend().batchNormTraining(in[0], in[1], in[2], eps);
        mean = save(s.mean());
        variance = save(s.variance());
        x = save(in[0]);
        gamma = save(in[1]);
        return s.output();
    }

    public NDArray batchMean() {
        return mean;
    }

    public NDArray batchVariance() {
        return variance;
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        boolean params = needsInputGrad(1) || needsInputGrad(2);
        BatchNormGrads r = g.backend().batchNormBackward(g, x, gamma, mean, variance, eps, true,
                needsInputGrad(0), params);
        return new NDArray[] {r.input(), needsInputGrad(1) ? r.weight() : null, needsInputGrad(2) ? r.bias() : null};
    }

    @Override
    protected void release() {
        x = null;
        gamma = null;
    }
}
