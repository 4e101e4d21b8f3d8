package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** {@code x.permute(perm)} as a row-major copy; the backward pass permutes the gradient back with the inverse. */
public final class PermuteFunction extends Function {
    private final int[] perm;

    public PermuteFunction(int[] perm) {
        this.perm = perm.clone();
    }

    @Override
    protected NDArray forward(NDArray... in) {
        NDArray x = RowMajor.of(in[0]);
        return x.backend().permute(x, perm);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        int[] inverse = new int[perm.length];
        for (int i = 0; i < perm.length; i++) {
            inverse[perm[i]] = i;
        }
        NDArray dy = RowMajor.of(g);
        return new NDArray[] {dy.backend().permute(dy, inverse)};
    }
}
