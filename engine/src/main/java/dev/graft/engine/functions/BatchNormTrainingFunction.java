package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.backend.Buffer;

/**
 * Batch norm with the batch's own statistics (training mode): inputs x [N,C,H,W], gamma [C], beta [C].
 * The batch mean and biased variance stay readable after forward, for the caller's running-stat update.
 * With {@code relu} the output is {@code relu(bn(x))} ({@code Backend.batchNormTrainingRelu}: no second array,
 * and on cpu no second pass over memory), with exactly the values and gradients of the two primitives in a row.
 */
public final class BatchNormTrainingFunction extends Function {
    private final double eps;
    private final boolean relu;
    private NDArray x;
    private NDArray gamma;
    private NDArray mean;
    private NDArray variance;
    private NDArray y;
    private Buffer workspace;

    public BatchNormTrainingFunction(double eps) {
        this(eps, false);
    }

    public BatchNormTrainingFunction(double eps, boolean relu) {
        this.eps = eps;
        this.relu = relu;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        var be = in[0].backend();
        BatchNormStats s = relu ? be.batchNormTrainingRelu(in[0], in[1], in[2], eps) : be.batchNormTraining(in[0], in[1], in[2], eps);
        mean = save(s.mean());
        variance = save(s.variance());
        x = save(in[0]);
        gamma = save(in[1]);
        NDArray out = s.output();
        if (relu && recording()) {
            y = save(out);
            workspace = s.workspace();
            pin(workspace);
        }
        return out;
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
        BatchNormGrads r = relu
                ? g.backend().batchNormReluBackward(g, y, workspace, x, gamma, mean, variance, eps, needsInputGrad(0), params,
                        gradientWritable())
                : g.backend().batchNormBackward(g, x, gamma, mean, variance, eps, true, needsInputGrad(0), params,
                        gradientWritable());
        return new NDArray[] {r.input(), needsInputGrad(1) ? r.weight() : null, needsInputGrad(2) ? r.bias() : null};
    }

    @Override
    protected void release() {
        x = null;
        gamma = null;
        y = null;
        workspace = null;
    }
}
