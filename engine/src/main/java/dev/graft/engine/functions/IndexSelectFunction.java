package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

/**
 * {@code torch.index_select(x, axis, index)} with a host index (Swin's relative-position-bias lookup). The backward
 * pass scatter-adds the gradient's slices into zeros of x's shape, in increasing position of the index.
 */
public final class IndexSelectFunction extends Function {
    private final int axis;
    private final int[] index;
    private Shape from;

    public IndexSelectFunction(int axis, int[] index) {
        this.axis = axis;
        this.index = index.clone();
    }

    @Override
    protected NDArray forward(NDArray... in) {
        from = in[0].shape();
        NDArray x = RowMajor.of(in[0]);
        return x.backend().indexSelect(x, axis, index);
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray dy = RowMajor.of(g);
        return new NDArray[] {dy.backend().indexSelectBackward(dy, axis, index, from)};
    }
}
