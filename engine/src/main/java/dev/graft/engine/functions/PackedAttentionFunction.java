package dev.graft.engine.functions;

import dev.graft.engine.Function;
import dev.graft.engine.NDArray;

/**
 * Multi-head self-attention on a packed q/k/v projection ({@link dev.graft.engine.backend.Backend#packedAttention}):
 * qkv [N, T, 3C] -> softmax(scale * q k^T) v [N, T, C], heads merged. Saves qkv and the attention probabilities; the
 * backward pass gives d qkv [N, T, 3C] ({@link dev.graft.engine.backend.Backend#packedAttentionBackward}).
 */
public final class PackedAttentionFunction extends Function {
    private final int heads;
    private final double scale;
    private NDArray qkv;
    private NDArray probs;

    public PackedAttentionFunction(int heads, double scale) {
        this.heads = heads;
        this.scale = scale;
    }

    @Override
    protected NDArray forward(NDArray... in) {
        NDArray x = RowMajor.of(in[0]);
        NDArray[] r = x.backend().packedAttention(x, heads, scale);
        if (recording()) {
            qkv = save(x);
            probs = save(r[1]);
        } else {
            r[1].buffer().close();
        }
        return r[0];
    }

    @Override
    protected NDArray[] backward(NDArray g) {
        NDArray dy = RowMajor.of(g);
        return new NDArray[] {dy.backend().packedAttentionBackward(dy, qkv, probs, heads, scale)};
    }

    @Override
    protected void release() {
        qkv = null;
        probs = null;
    }
}
