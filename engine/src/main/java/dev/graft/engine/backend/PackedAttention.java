package dev.graft.engine.backend;

import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

/**
 * Multi-head self-attention on a packed q/k/v projection, composed of the backend's own kernels: the default of
 * {@link Backend#packedAttention} and {@link Backend#packedAttentionBackward} (the reference backend's
 * implementation and the oracle of a backend's fused one). {@code qkv} is row-major [N, T, 3C] read as [N, T, 3,
 * heads, d] (q columns first, then k, then v, head-major within each, as {@code nn.MultiheadAttention}'s
 * {@code in_proj} and timm's {@code qkv}); the output is [N, T, C] with the heads side by side again.
 */
public final class PackedAttention {
    private static final int[] SPLIT = {2, 0, 3, 1, 4};   // [N,T,3,h,d] -> [3,N,h,T,d]
    private static final int[] UNSPLIT = {1, 3, 0, 2, 4}; // its inverse
    private static final int[] HEADS_FIRST = {0, 2, 1, 3}; // [N,T,h,d] <-> [N,h,T,d]

    private PackedAttention() {
    }

    /** {out [N,T,C], probs [N,h,T,T]}: probs = softmax(scale * q k^T), out = probs v with the heads merged. */
    public static NDArray[] forward(Backend be, NDArray qkv, int heads, double scale) {
        Shape s = qkv.shape();
        int n = s.dim(0);
        int t = s.dim(1);
        int c = s.dim(2) / 3;
        int d = c / heads;
        NDArray[] qkvHeads = split(be, qkv, n, t, heads, d);
        NDArray scores = be.scale(be.batchedGemm(qkvHeads[0], qkvHeads[1], false, true), scale);
        NDArray probs = be.softmax(scores.reshape(Shape.of(n, heads, t, t)));
        NDArray o = be.batchedGemm(probs.reshape(Shape.of(n * heads, t, t)), qkvHeads[2], false, false);
        NDArray out = be.permute(o.reshape(Shape.of(n, heads, t, d)), HEADS_FIRST).reshape(Shape.of(n, t, c));
        return new NDArray[] {out, probs};
    }

    /** The gradient with respect to qkv [N,T,3C] of {@link #forward}'s output, given dOut [N,T,C] and its probs. */
    public static NDArray backward(Backend be, NDArray dOut, NDArray qkv, NDArray probs, int heads, double scale) {
        Shape s = qkv.shape();
        int n = s.dim(0);
        int t = s.dim(1);
        int c = s.dim(2) / 3;
        int d = c / heads;
        NDArray[] qkvHeads = split(be, qkv, n, t, heads, d);
        NDArray dO = be.permute(dOut.reshape(Shape.of(n, t, heads, d)), HEADS_FIRST).reshape(Shape.of(n * heads, t, d));
        NDArray p = probs.reshape(Shape.of(n * heads, t, t));
        NDArray dV = be.batchedGemm(p, dO, true, false);
        NDArray dP = be.batchedGemm(dO, qkvHeads[2], false, true);
        NDArray dS = be.softmaxBackward(dP, p);
        NDArray dQ = be.scale(be.batchedGemm(dS, qkvHeads[1], false, false), scale);
        NDArray dK = be.scale(be.batchedGemm(dS, qkvHeads[0], true, false), scale);
        Shape one = Shape.of(1, n, heads, t, d);
        NDArray stacked = be.concat(new NDArray[] {dQ.reshape(one), dK.reshape(one), dV.reshape(one)}, 0);
        return be.permute(stacked, UNSPLIT).reshape(s);
    }

    /** q, k, v as [N*h, T, d] each. */
    private static NDArray[] split(Backend be, NDArray qkv, int n, int t, int heads, int d) {
        NDArray split = be.permute(qkv.reshape(Shape.of(n, t, 3, heads, d)), SPLIT);
        Shape each = Shape.of(n * heads, t, d);
        return new NDArray[] {be.narrow(split, 0, 0, 1).reshape(each), be.narrow(split, 0, 1, 1).reshape(each),
                be.narrow(split, 0, 2, 1).reshape(each)};
    }
}
