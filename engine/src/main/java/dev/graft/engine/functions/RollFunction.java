package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/** {@code torch.roll} on distinct axes with shifts in [0, dim); the gradient is rolled back by the opposite shifts. */
public final class RollFunction extends Function {
    private final int[] shifts;
    private final int[] axes;
    private int[] back;

    public RollFunction(int[] shifts, int[] axes) {
        this.shifts = shifts.clone();
        this.axes = axes.clone();
    }

    @Override
    protected NDArray forward(NDArray... in) {
        back = new int[axes.length];
        for (int i = 0; i < axes.length; i++) {
            int n = in[0].shape().dim(axes[i]);
            back[i] = (n - shifts[i]) % n;
        }
        return in[0].backend().roll(in[0], shifts, axes);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        return new NDArray[] {g.backend().roll(g, back, axes)};
    }
}
