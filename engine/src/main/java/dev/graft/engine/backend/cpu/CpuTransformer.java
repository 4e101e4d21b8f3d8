package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.TransformerKernels;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.softmax_backward;
import org.bytedeco.dnnl.softmax_forward;
import org.bytedeco.javacpp.Pointer;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;

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
