package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;

/**
 * Layer norm over the last axis: inputs x [..., C], weight [C], bias [C]. The forward keeps each row's mean and
 * biased variance for the backward pass, which gives the gradients of x, weight and bias.
 */
public final class LayerNormFunction extends Function {
    private final double eps;
    private NDArray x;
    private NDArray weight;
    private NDArray mean;
    private NDArray variance;

    public LayerNormFunction(double eps) {
        this.eps = eps;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        BatchNormStats s = in[0].backend().layerNorm(in[0], in[1], in[2], eps);
        mean = save(s.mean());
        variance = save(s.variance());
        x = save(in[0]);
        weight = save(in[1]);
        return s.output();
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        boolean params = needsInputGrad(1) || needsInputGrad(2);
        BatchNormGrads r = g.backend().layerNormBackward(g, x, weight, mean, variance, eps, needsInputGrad(0), params);
        return new NDArray[] {r.input(), needsInputGrad(1) ? r.weight() : null, needsInputGrad(2) ? r.bias() : null};
    }

    @Override
    protected void release() {
        x = null;
        weight = null;
        mean = null;
        variance = null;
    }
}
