package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** Masked-mean binary cross-entropy with logits and optional per-label positive weights (see Backend#bceWithLogits). */
public final class BceWithLogitsFunction extends Function {
    private final float[] targets;
    private final float[] posWeight;
    private NDArray logits;

    public BceWithLogitsFunction(float[] targets, float[] posWeight) {
        this.targets = targets;
        this.posWeight = posWeight;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        logits = save(in[0]);
        return in[0].backend().bceWithLogits(in[0], targets, posWeight);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().bceWithLogitsBackward(g, logits, targets, posWeight)};
    }

    @Override
    protected void release() {
        logits = null;
    }
}
