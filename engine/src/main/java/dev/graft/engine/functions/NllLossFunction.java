package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** Mean negative log-likelihood with optional class weights and label smoothing (see Backend#nllLoss). */
public final class NllLossFunction extends Function {
    private final int[] labels;
    private final float[] classWeights;
    private final double smoothing;
    private NDArray logProbs;

    public NllLossFunction(int[] labels, float[] classWeights, double smoothing) {
        this.labels = labels;
        this.classWeights = classWeights;
        this.smoothing = smoothing;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        logProbs = save(in[0]);
        return in[0].backend().nllLoss(in[0], labels, classWeights, smoothing);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().nllLossBackward(g, logProbs, labels, classWeights, smoothing)};
    }

    @Override
    protected void release() {
        logProbs = null;
    }
}
