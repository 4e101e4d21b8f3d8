package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.PackedAttention;
import dev.graft.engine.backend.TransformerKernels;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.softmax_backward;
import org.bytedeco.dnnl.softmax_forward;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_1;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;

/**
 * The transformer kernels on the cpu backend, all on row-major F32 arrays:
 * <ul>
 * <li>batched matmul: oneDNN matmul on 3-D descriptors [B,M,K] x [B,K,N]; a transposed operand is described by
 * swapped strides, as in {@link CpuMatmul}, so nothing is copied; {@code fpmath_mode::bf16} under bf16 precision;</li>
 * <li>softmax over the last axis and its backward: oneDNN {@code softmax_accurate} (the row maximum subtracted);</li>
 * <li>permute: a oneDNN reorder from the input read with permuted strides to a dense output;</li>
 * <li>concat and narrow on any axis: copies of contiguous runs ([outer, axis, inner]: a slice along the axis is one
 * run of length x inner per outer index), bit-exact.</li>
 * </ul>
 * index_select and its scatter-add stay on {@link TransformerKernels}' host path (exact copy / double sums).
 * Primitives are cached per shape, as everywhere in this backend.
 */
final class CpuTransformer implements AutoCloseable {
    private record Key(String op, List<Integer> dims, boolean flagA, boolean flagB, Precision precision) {
        Key(String op, List<Integer> dims, boolean flagA, boolean flagB) {
            this(op, dims, flagA, flagB, Precision.FP32);
        }
    }

    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final Map<Key, Step> cache = new HashMap<>();
    private final Map<Key, MatmulStep> products = new HashMap<>();

    CpuTransformer(Dnnl dnnl, CpuBackend backend) {
        this.dnnl = dnnl;
        this.backend = backend;
    }

    NDArray batchedGemm(NDArray a, NDArray b, boolean transA, boolean transB) {
        int batch = a.shape().dim(0);
        int m = transA ? a.shape().dim(2) : a.shape().dim(1);
        int k = transA ? a.shape().dim(1) : a.shape().dim(2);
        int n = transB ? b.shape().dim(1) : b.shape().dim(2);
        NDArray c = backend.empty(DType.F32, Shape.of(batch, m, n), Layout.ROW_MAJOR);
        if (c.numel() == 0) {
            return c;
        }
        if (k == 0) {
            Pointer.memset(NativeBuffer.of(c).pointer(), 0, (long) c.numel() * Float.BYTES);
            return c;
        }
        Key key = new Key("bmm", List.of(batch, m, k, n), transA, transB, backend.precision());
        MatmulStep step = products.computeIfAbsent(key, x -> Dnnl.build("batched matmul " + x, () -> {
            memory.desc ad = new memory.desc(new long[] {batch, m, k}, memory.data_type.f32,
                    transA ? new long[] {(long) m * k, 1, m} : new long[] {(long) m * k, k, 1});
            memory.desc bd = new memory.desc(new long[] {batch, k, n}, memory.data_type.f32,
                    transB ? new long[] {(long) k * n, 1, k} : new long[] {(long) k * n, n, 1});
            memory.desc cd = Dnnl.plain(new long[] {batch, m, n});
            return MatmulStep.build("batched matmul " + x, dnnl, ad, bd, cd, x.precision());
        }));
        step.run(dnnl, NativeBuffer.of(a).pointer(), NativeBuffer.of(b).pointer(), NativeBuffer.of(c).pointer());
        return c;
    }

    // ---- linear with bias ---------------------------------------------------------------------------------------

    /** x [M,K] w [N,K]^T + b [N]: one oneDNN matmul with w read transposed in place and the bias as its argument. */
    NDArray linear(NDArray x, NDArray w, NDArray b) {
        return linear(x, w, b, false);
    }

    /** {@code x w^T + b}, then the exact (erf) GELU when {@code gelu}: one oneDNN matmul with an eltwise post-op. */
    NDArray linear(NDArray x, NDArray w, NDArray b, boolean gelu) {
        return linear(x, w, b, gelu, null);
    }

    /**
     * {@code x w^T + b}, then the exact GELU when {@code gelu}, then plus {@code residual} [M, N] (row-major) when it
     * is not null: one oneDNN matmul with eltwise and binary-add post-ops.
     */
    NDArray linear(NDArray x, NDArray w, NDArray b, boolean gelu, NDArray residual) {
        int m = x.shape().dim(0);
        int k = x.shape().dim(1);
        int n = w.shape().dim(0);
        NDArray y = backend.empty(DType.F32, Shape.of(m, n), Layout.ROW_MAJOR);
        if (y.numel() == 0) {
            return y;
        }
        if (k == 0) {
            // no products: the bias in every row
            NDArray zero = backend.empty(DType.F32, Shape.of(m, n), Layout.ROW_MAJOR);
            Pointer.memset(NativeBuffer.of(zero).pointer(), 0, (long) zero.numel() * Float.BYTES);
            NDArray r = backend.add(zero, b);
            zero.buffer().close();
            y.buffer().close();
            if (gelu) {
                NDArray g = backend.gelu(r, false);
                r.buffer().close();
                r = g;
            }
            if (residual != null) {
                NDArray s = backend.add(r, residual);
                r.buffer().close();
                r = s;
            }
            return r;
        }
        boolean add = residual != null;
        String op = "linear" + (gelu ? " gelu" : "") + (add ? " add" : "");
        Step step = cache.computeIfAbsent(new Key(op, List.of(m, k, n), gelu, add), key -> Dnnl.build(op + " " + key, () -> {
            memory.desc xd = Dnnl.plain(new long[] {m, k});
            memory.desc wd = new memory.desc(new long[] {k, n}, memory.data_type.f32, new long[] {1, k});
            memory.desc bd = Dnnl.plain(new long[] {1, n});
            memory.desc yd = Dnnl.plain(new long[] {m, n});
            primitive_attr attr = new primitive_attr();
            post_ops ops = new post_ops();
            if (gelu) {
                ops.append_eltwise(algorithm.eltwise_gelu_erf, 0f, 0f);
            }
            if (add) {
                ops.append_binary(algorithm.binary_add, yd);
            }
            if (gelu || add) {
                attr.set_post_ops(ops);
            }
            matmul.primitive_desc pd = new matmul.primitive_desc(dnnl.engine, xd, wd, bd, yd, attr, false);
            if (!add) {
                return new Step(op + " " + key, dnnl, pd, new matmul(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST},
                        new memory.desc[] {xd, wd, bd, yd});
            }
            int residualArg = DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE * ((gelu ? 1 : 0) + 1) | DNNL_ARG_SRC_1; // the binary post-op's index
            return new Step(op + " " + key, dnnl, pd, new matmul(pd),
                    new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST, residualArg},
                    new memory.desc[] {xd, wd, bd, yd, yd});
        }));
        if (add) {
            step.run(dnnl, NativeBuffer.of(x).pointer(), NativeBuffer.of(w).pointer(), NativeBuffer.of(b).pointer(), NativeBuffer.of(y).pointer(),
                    NativeBuffer.of(residual).pointer());
        } else {
            step.run(dnnl, NativeBuffer.of(x).pointer(), NativeBuffer.of(w).pointer(), NativeBuffer.of(b).pointer(), NativeBuffer.of(y).pointer());
        }
        return y;
    }

    /** Column sums of dy [M,N]: ones [1,M] x dy as a oneDNN matmul (float accumulation, as the gemms beside it). */
    NDArray biasGrad(NDArray dy) {
        int m = dy.shape().dim(0);
        int n = dy.shape().dim(1);
        NDArray db = backend.empty(DType.F32, Shape.of(n), Layout.ROW_MAJOR);
        if (db.numel() == 0) {
            return db;
        }
        if (m == 0) {
            Pointer.memset(NativeBuffer.of(db).pointer(), 0, (long) n * Float.BYTES);
            return db;
        }
        NDArray ones = backend.empty(DType.F32, Shape.of(m), Layout.ROW_MAJOR);
        backend.fill(ones, 1.0);
        Step step = cache.computeIfAbsent(new Key("bias grad", List.of(m, n), false, false), key -> Dnnl.build("bias grad " + key, () -> {
            memory.desc od = Dnnl.plain(new long[] {1, m});
            memory.desc gd = Dnnl.plain(new long[] {m, n});
            memory.desc bd = Dnnl.plain(new long[] {1, n});
            matmul.primitive_desc pd = new matmul.primitive_desc(dnnl.engine, od, gd, bd);
            return new Step("bias grad " + key, dnnl, pd, new matmul(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                    new memory.desc[] {od, gd, bd});
        }));
        step.run(dnnl, NativeBuffer.of(ones).pointer(), NativeBuffer.of(dy).pointer(), NativeBuffer.of(db).pointer());
        ones.buffer().close();
        return db;
    }

    // ---- packed multi-head self-attention --------------------------------------------------------------------
    //
    // qkv [N,T,3C] is read in place as q, k, v [N,h,T,d] through strided 4-D matmul descriptors (slot s at float
    // offset s*C, strides {T*3C, d, 3C, 1}); the output [N,T,C] and the gradient [N,T,3C] are written the same way,
    // so no head is copied out or back. The scale rides on the matmul as an eltwise_linear post-op. oneDNN sizes a
    // strided view as max(dim * stride), more than the floats it touches (for slot s the last one read is
    // (N-1)T*3C + (T-1)3C + (h-1)d + d-1 + sC < N*T*3C); Step's room check would refuse those, so the views get a
    // pointer without a limit ({@link #at}), and the dense arguments keep the check.

    /** {out [N,T,C], probs [N,h,T,T]}. */
    NDArray[] packedAttention(NDArray qkv, int heads, double scale) {
        Shape s = qkv.shape();
        int n = s.dim(0);
        int t = s.dim(1);
        int c = s.dim(2) / 3;
        int d = c / heads;
        if (t == 1) {
            // one token: oneDNN's matmul misread these strided views for N = 2, T = 1 (found by the cpu-vs-reference
            // property); the composed kernels do it (no model here has a single token)
            return PackedAttention.forward(backend, qkv, heads, scale);
        }
        NDArray out = backend.empty(DType.F32, Shape.of(n, t, c), Layout.ROW_MAJOR);
        NDArray probs = backend.empty(DType.F32, Shape.of(n, heads, t, t), Layout.ROW_MAJOR);
        if (out.numel() == 0) {
            return new NDArray[] {out, probs};
        }
        FloatPointer x = NativeBuffer.of(qkv).pointer();
        FloatPointer p = NativeBuffer.of(probs).pointer();
        List<Integer> dims = List.of(n, t, heads, d);
        long[] qkvView = {(long) t * 3 * c, d, 3L * c, 1};
        long[] qkvViewT = {(long) t * 3 * c, d, 1, 3L * c};
        long[] scores = {(long) heads * t * t, (long) t * t, t, 1};
        long[] merged = {(long) t * c, d, c, 1};
        // probs = softmax(scale * q k^T), the softmax in place
        attentionMatmul("attn q.kT", dims, n, heads, t, d, t, qkvView, qkvViewT, scores, (float) scale)
                .run(dnnl, at(x, 0), at(x, c), p);
        forwardStep(probs.shape()).run(dnnl, p, p);
        // out = probs v, heads merged
        attentionMatmul("attn p.v", dims, n, heads, t, t, d, scores, qkvView, merged, 1f)
                .run(dnnl, p, at(x, 2L * c), at(NativeBuffer.of(out).pointer(), 0));
        return new NDArray[] {out, probs};
    }

    NDArray packedAttentionBackward(NDArray dOut, NDArray qkv, NDArray probs, int heads, double scale) {
        Shape s = qkv.shape();
        int n = s.dim(0);
        int t = s.dim(1);
        int c = s.dim(2) / 3;
        int d = c / heads;
        if (t == 1) {
            return PackedAttention.backward(backend, dOut, qkv, probs, heads, scale);
        }
        NDArray dqkv = backend.empty(DType.F32, s, Layout.ROW_MAJOR);
        if (dqkv.numel() == 0) {
            return dqkv;
        }
        FloatPointer x = NativeBuffer.of(qkv).pointer();
        FloatPointer p = NativeBuffer.of(probs).pointer();
        FloatPointer dy = NativeBuffer.of(dOut).pointer();
        FloatPointer dx = NativeBuffer.of(dqkv).pointer();
        List<Integer> dims = List.of(n, t, heads, d);
        long[] qkvView = {(long) t * 3 * c, d, 3L * c, 1};
        long[] qkvViewT = {(long) t * 3 * c, d, 1, 3L * c};
        long[] scores = {(long) heads * t * t, (long) t * t, t, 1};
        long[] scoresT = {(long) heads * t * t, (long) t * t, 1, t};
        long[] merged = {(long) t * c, d, c, 1};
        // dv = probs^T dOut
        attentionMatmul("attn dv", dims, n, heads, t, t, d, scoresT, merged, qkvView, 1f).run(dnnl, p, at(dy, 0), at(dx, 2L * c));
        // dprobs = dOut v^T, then the softmax backward
        NDArray dProbs = backend.empty(DType.F32, probs.shape(), Layout.ROW_MAJOR);
        attentionMatmul("attn dp", dims, n, heads, t, d, t, merged, qkvViewT, scores, 1f)
                .run(dnnl, at(dy, 0), at(x, 2L * c), NativeBuffer.of(dProbs).pointer());
        NDArray dScores = softmaxBackward(dProbs, probs);
        dProbs.buffer().close();
        FloatPointer ds = NativeBuffer.of(dScores).pointer();
        // dq = scale * dScores k, dk = scale * dScores^T q
        attentionMatmul("attn dq", dims, n, heads, t, t, d, scores, qkvView, qkvView, (float) scale).run(dnnl, ds, at(x, c), at(dx, 0));
        attentionMatmul("attn dk", dims, n, heads, t, t, d, scoresT, qkvView, qkvView, (float) scale)
                .run(dnnl, ds, at(x, 0), at(dx, c));
        dScores.buffer().close();
        return dqkv;
    }

    /** {@code p} advanced by {@code floats}, without a limit (a strided view's extent is checked by construction). */
    private static Pointer at(FloatPointer p, long floats) {
        return p.getPointer(floats).limit(0);
    }

    /**
     * A cached matmul [n,h,m,k] x [n,h,k,nn] -> [n,h,m,nn] over the given strides (src, weights, dst), times alpha.
     * {@code dims} (N, T, heads, d) and the op name key the cache with alpha's bits.
     */
    private Step attentionMatmul(String op, List<Integer> dims, int n, int h, int m, int k, int nn, long[] srcStrides,
                                 long[] weightStrides, long[] dstStrides, float alpha) {
        List<Integer> key = new java.util.ArrayList<>(dims);
        key.add(Float.floatToIntBits(alpha));
        return cache.computeIfAbsent(new Key(op, key, false, false), x -> Dnnl.build(op + " " + x, () -> {
            memory.desc ad = new memory.desc(new long[] {n, h, m, k}, memory.data_type.f32, srcStrides);
            memory.desc bd = new memory.desc(new long[] {n, h, k, nn}, memory.data_type.f32, weightStrides);
            memory.desc cd = new memory.desc(new long[] {n, h, m, nn}, memory.data_type.f32, dstStrides);
            primitive_attr attr = new primitive_attr();
            if (alpha != 1f) {
                post_ops ops = new post_ops();
                ops.append_eltwise(algorithm.eltwise_linear, alpha, 0f);
                attr.set_post_ops(ops);
            }
            matmul.primitive_desc pd = new matmul.primitive_desc(dnnl.engine, ad, bd, cd, attr, false);
            return new Step(op + " " + x, dnnl, pd, new matmul(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                    new memory.desc[] {ad, bd, cd});
        }));
    }

    NDArray softmax(NDArray x) {
        NDArray y = backend.empty(DType.F32, x.shape(), Layout.ROW_MAJOR);
        if (x.numel() == 0) {
            return y;
        }
        forwardStep(x.shape()).run(dnnl, NativeBuffer.of(x).pointer(), NativeBuffer.of(y).pointer());
        return y;
    }

    NDArray softmaxBackward(NDArray dy, NDArray y) {
        NDArray dx = backend.empty(DType.F32, dy.shape(), Layout.ROW_MAJOR);
        if (dy.numel() == 0) {
            return dx;
        }
        Shape s = dy.shape();
        Step step = cache.computeIfAbsent(new Key("softmax_bwd", dims(s), false, false), key -> Dnnl.build("softmax backward " + s, () -> {
            memory.desc d = Dnnl.plain(Dnnl.dims(s));
            int axis = Math.max(s.rank(), 1) - 1;
            var fwd = new softmax_forward.primitive_desc(dnnl.engine, prop_kind.forward_training, algorithm.softmax_accurate, d, d, axis);
            var bwd = new softmax_backward.primitive_desc(dnnl.engine, algorithm.softmax_accurate, d, d, d, axis, fwd);
            return new Step("softmax backward " + s, dnnl, bwd, new softmax_backward(bwd),
                    new int[] {DNNL_ARG_DST, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC}, new memory.desc[] {d, d, d});
        }));
        step.run(dnnl, NativeBuffer.of(y).pointer(), NativeBuffer.of(dy).pointer(), NativeBuffer.of(dx).pointer());
        return dx;
    }

    private Step forwardStep(Shape s) {
        return cache.computeIfAbsent(new Key("softmax", dims(s), false, false), key -> Dnnl.build("softmax " + s, () -> {
            memory.desc d = Dnnl.plain(Dnnl.dims(s));
            int axis = Math.max(s.rank(), 1) - 1;
            var pd = new softmax_forward.primitive_desc(dnnl.engine, prop_kind.forward_training, algorithm.softmax_accurate, d, d, axis);
            return new Step("softmax " + s, dnnl, pd, new softmax_forward(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                    new memory.desc[] {d, d});
        }));
    }

    NDArray permute(NDArray x, int[] perm) {
        Shape s = x.shape();
        int r = s.rank();
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            out[i] = s.dim(perm[i]);
        }
        Shape os = Shape.of(out);
        NDArray y = backend.empty(DType.F32, os, Layout.ROW_MAJOR);
        if (y.numel() == 0) {
            return y;
        }
        if (r <= 1) {
            Pointer.memcpy(NativeBuffer.of(y).pointer(), NativeBuffer.of(x).pointer(), (long) y.numel() * Float.BYTES);
            return y;
        }
        List<Integer> k = new java.util.ArrayList<>(dims(s));
        for (int p : perm) {
            k.add(p);
        }
        Step step = cache.computeIfAbsent(new Key("permute", k, false, false), key -> Dnnl.build("permute " + s + " " + Arrays.toString(perm), () -> {
            long[] inStrides = Dnnl.rowMajorStrides(Dnnl.dims(s));
            long[] strides = new long[r];
            for (int i = 0; i < r; i++) {
                strides[i] = inStrides[perm[i]];
            }
            memory.desc from = new memory.desc(Dnnl.dims(os), memory.data_type.f32, strides);
            memory.desc to = Dnnl.plain(Dnnl.dims(os));
            reorder.primitive_desc pd = new reorder.primitive_desc(dnnl.engine, from, dnnl.engine, to);
            return new Step("permute " + s + " " + Arrays.toString(perm), dnnl, pd, new reorder(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                    new memory.desc[] {from, to});
        }));
        step.run(dnnl, NativeBuffer.of(x).pointer(), NativeBuffer.of(y).pointer());
        return y;
    }

    NDArray concat(NDArray[] xs, int axis) {
        Shape s = xs[0].shape();
        long outer = TransformerKernels.outer(s, axis);
        long inner = TransformerKernels.inner(s, axis);
        int total = 0;
        for (NDArray x : xs) {
            total += x.shape().dim(axis);
        }
        NDArray y = backend.empty(DType.F32, TransformerKernels.withDim(s, axis, total), Layout.ROW_MAJOR);
        long a0 = 0;
        for (NDArray x : xs) {
            long run = x.shape().dim(axis) * inner;
            copyRuns(NativeBuffer.of(x), run, 0, NativeBuffer.of(y), total * inner, a0 * inner, run, outer);
            a0 += x.shape().dim(axis);
        }
        return y;
    }

    NDArray narrow(NDArray x, int axis, int start, int length) {
        Shape s = x.shape();
        long outer = TransformerKernels.outer(s, axis);
        long inner = TransformerKernels.inner(s, axis);
        NDArray y = backend.empty(DType.F32, TransformerKernels.withDim(s, axis, length), Layout.ROW_MAJOR);
        long run = length * inner;
        copyRuns(NativeBuffer.of(x), s.dim(axis) * inner, start * inner, NativeBuffer.of(y), run, 0, run, outer);
        return y;
    }

    /** For o in [0, outer): dst[o * dstStride + dstOff, + run) = src[o * srcStride + srcOff, + run). */
    private static void copyRuns(NativeBuffer src, long srcStride, long srcOff, NativeBuffer dst, long dstStride, long dstOff,
                                 long run, long outer) {
        if (run == 0 || outer == 0) {
            return;
        }
        long block = Math.max(1, Math.min(outer, (NativeMemory.MAX_VIEW / 2) / Math.max(srcStride, dstStride)));
        for (long o0 = 0; o0 < outer; o0 += block) {
            int n = (int) Math.min(block, outer - o0);
            FloatBuffer from = src.floats(o0 * srcStride, (int) ((n - 1) * srcStride + srcOff + run));
            FloatBuffer to = dst.floats(o0 * dstStride, (int) ((n - 1) * dstStride + dstOff + run));
            for (int o = 0; o < n; o++) {
                to.put((int) (o * dstStride + dstOff), from, (int) (o * srcStride + srcOff), (int) run);
            }
        }
    }

    private static List<Integer> dims(Shape s) {
        return Arrays.stream(s.dims()).boxed().toList();
    }

    @Override
    public void close() {
        cache.values().forEach(Step::close);
        cache.clear();
        products.values().forEach(MatmulStep::close);
        products.clear();
    }
}
