package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import org.bytedeco.dnnl.eltwise_backward;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.global.dnnl.normalization_flags;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.bytedeco.dnnl.layer_normalization_backward;
import org.bytedeco.dnnl.layer_normalization_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.javacpp.Pointer;

import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_MEAN;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_VARIANCE;

/**
 * Layer norm and GELU with oneDNN ({@code layer_normalization} forward training and backward over a plain
 * [rows, C] view; {@code eltwise_gelu_erf} / {@code eltwise_gelu_tanh} over a flat [numel] view), and roll, zero
 * padding and its inverse as row copies in Java (pure copies: bit-exact). Everything here works on row-major
 * data: a channels-last 4-D input is reordered first and results are row-major.
 */
final class CpuTransformerOps implements AutoCloseable {
    private static final int AFFINE = normalization_flags.use_scale.value | normalization_flags.use_shift.value;

    private enum Kind { LN_FORWARD, LN_BACKWARD, GELU_ERF, GELU_TANH, GELU_ERF_BACKWARD, GELU_TANH_BACKWARD }

    private record Key(Kind kind, long rows, long c, float eps) {
    }

    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final CpuReorders reorders;
    private final Parallel parallel;
    private final Map<Key, Step> cache = new HashMap<>();

    CpuTransformerOps(Dnnl dnnl, CpuBackend backend, CpuReorders reorders, Parallel parallel) {
        this.dnnl = dnnl;
        this.backend = backend;
        this.reorders = reorders;
        this.parallel = parallel;
    }

    // ---- layer norm ------------------------------------------------------------------------------------------

    BatchNormStats layerNorm(NDArray x, NDArray weight, NDArray bias, double eps) {
        long c = lastDim(x.shape());
        long rows = x.numel() / c;
        NDArray xs = rowMajor(x);
        NDArray y = backend.empty(DType.F32, x.shape(), Layout.ROW_MAJOR);
        NDArray mean = backend.empty(DType.F32, Shape.of((int) rows), Layout.ROW_MAJOR);
        NDArray var = backend.empty(DType.F32, Shape.of((int) rows), Layout.ROW_MAJOR);
        step(new Key(Kind.LN_FORWARD, rows, c, (float) eps)).run(dnnl, ptr(xs), ptr(weight), ptr(bias), ptr(y), ptr(mean), ptr(var));
        CpuReorders.release(xs, x);
        return new BatchNormStats(y, mean, var);
    }

    BatchNormGrads layerNormBackward(NDArray dy, NDArray x, NDArray weight, NDArray mean, NDArray var, double eps,
                                     boolean needInput, boolean needParams) {
        if (!needInput && !needParams) {
            return new BatchNormGrads(null, null, null);
        }
        long c = lastDim(x.shape());
        long rows = x.numel() / c;
        NDArray xs = rowMajor(x);
        NDArray dys = rowMajor(dy);
        // oneDNN writes dx, dweight and dbias whatever is asked; what is not is freed at once.
        NDArray dx = backend.empty(DType.F32, x.shape(), Layout.ROW_MAJOR);
        NDArray dw = backend.empty(DType.F32, weight.shape(), Layout.ROW_MAJOR);
        NDArray db = backend.empty(DType.F32, weight.shape(), Layout.ROW_MAJOR);
        step(new Key(Kind.LN_BACKWARD, rows, c, (float) eps)).run(dnnl, ptr(xs), ptr(mean), ptr(var), ptr(dys), ptr(weight),
                ptr(dx), ptr(dw), ptr(db));
        CpuReorders.release(xs, x);
        CpuReorders.release(dys, dy);
        if (!needInput) {
            dx.buffer().close();
            dx = null;
        }
        if (!needParams) {
            dw.buffer().close();
            db.buffer().close();
            dw = null;
            db = null;
        }
        return new BatchNormGrads(dx, dw, db);
    }

    // ---- GELU ------------------------------------------------------------------------------------------------

    /** In x's own layout (elementwise: the order does not matter as long as dy follows x's). */
    NDArray gelu(NDArray x, boolean tanh) {
        NDArray y = backend.empty(DType.F32, x.shape(), x.layout());
        step(new Key(tanh ? Kind.GELU_TANH : Kind.GELU_ERF, x.numel(), 1, 0)).run(dnnl, ptr(x), ptr(y));
        return y;
    }

    NDArray geluBackward(NDArray dy, NDArray x, boolean tanh) {
        NDArray dys = reorders.toLayout(dy, x.layout(), backend);
        NDArray dx = backend.empty(DType.F32, x.shape(), x.layout());
        step(new Key(tanh ? Kind.GELU_TANH_BACKWARD : Kind.GELU_ERF_BACKWARD, x.numel(), 1, 0)).run(dnnl, ptr(dys), ptr(x), ptr(dx));
        CpuReorders.release(dys, dy);
        return dx;
    }

    // ---- roll, pad, crop -------------------------------------------------------------------------------------

    NDArray roll(NDArray x, int[] shifts, int[] axes) {
        NDArray cur = rowMajor(x);
        Shape s = x.shape();
        for (int i = 0; i < axes.length; i++) {
            int shift = shifts[i];
            if (shift == 0) {
                continue;
            }
            int n = s.dim(axes[i]);
            long inner = inner(s, axes[i]);
            long block = n * inner;
            long outer = s.numel() / block;
            NDArray next = backend.empty(DType.F32, s, Layout.ROW_MAJOR);
            copyRows(cur, 0, block, next, shift * inner, block, (n - shift) * inner, outer);
            copyRows(cur, (n - shift) * inner, block, next, 0, block, shift * inner, outer);
            CpuReorders.release(cur, x);
            cur = next;
        }
        if (cur.buffer() == x.buffer()) {
            return backend.copy(cur); // every shift was 0: a copy, not the input itself
        }
        return cur;
    }

    NDArray pad(NDArray x, int[] before, int[] after) {
        NDArray cur = rowMajor(x);
        Shape s = x.shape();
        for (int d = 0; d < s.rank(); d++) {
            if (before[d] == 0 && after[d] == 0) {
                continue;
            }
            int n = s.dim(d);
            int m = before[d] + n + after[d];
            long inner = inner(s, d);
            long outer = s.numel() / (n * inner);
            int[] dims = s.dims();
            dims[d] = m;
            Shape t = Shape.of(dims);
            NDArray next = backend.empty(DType.F32, t, Layout.ROW_MAJOR);
            Pointer.memset(ptr(next), 0, (long) t.numel() * Float.BYTES);
            copyRows(cur, 0, n * inner, next, before[d] * inner, m * inner, n * inner, outer);
            CpuReorders.release(cur, x);
            cur = next;
            s = t;
        }
        return cur.buffer() == x.buffer() ? backend.copy(cur) : cur;
    }

    NDArray crop(NDArray x, int[] before, Shape outShape) {
        NDArray cur = rowMajor(x);
        Shape s = x.shape();
        for (int d = 0; d < s.rank(); d++) {
            int n = outShape.dim(d);
            int m = s.dim(d);
            if (n == m) {
                continue;
            }
            long inner = inner(s, d);
            long outer = s.numel() / (m * inner);
            int[] dims = s.dims();
            dims[d] = n;
            Shape t = Shape.of(dims);
            NDArray next = backend.empty(DType.F32, t, Layout.ROW_MAJOR);
            copyRows(cur, before[d] * inner, m * inner, next, 0, n * inner, n * inner, outer);
            CpuReorders.release(cur, x);
            cur = next;
            s = t;
        }
        return cur.buffer() == x.buffer() ? backend.copy(cur) : cur;
    }

    /** For r in [0, rows): {@code len} floats from src[r * srcPitch + srcOff] to dst[r * dstPitch + dstOff]. */
    private void copyRows(NDArray src, long srcOff, long srcPitch, NDArray dst, long dstOff, long dstPitch, long len, long rows) {
        if (len == 0) {
            return;
        }
        NativeBuffer from = NativeBuffer.of(src);
        NativeBuffer to = NativeBuffer.of(dst);
        int n = (int) len; // a row is at most one tensor's size, below 2^31
        parallel.forEach(rows, (start, count) -> {
            for (long r = start; r < start + count; r++) {
                FloatBuffer a = from.floats(r * srcPitch + srcOff, n);
                to.floats(r * dstPitch + dstOff, n).put(a);
            }
        });
        to.bumpVersion();
    }

    private NDArray rowMajor(NDArray a) {
        return reorders.toLayout(a, Layout.ROW_MAJOR, backend);
    }

    private static long lastDim(Shape s) {
        return s.dim(s.rank() - 1);
    }

    private static long inner(Shape s, int axis) {
        long p = 1;
        for (int d = axis + 1; d < s.rank(); d++) {
            p *= s.dim(d);
        }
        return p;
    }

    private static Pointer ptr(NDArray a) {
        return NativeBuffer.of(a).pointer();
    }

    // ---- oneDNN primitives -----------------------------------------------------------------------------------

    private Step step(Key k) {
        Step s = cache.get(k);
        if (s == null) {
            s = Dnnl.build(k.kind() + " for " + k.rows() + " x " + k.c(), () -> build(k));
            cache.put(k, s);
        }
        return s;
    }

    private Step build(Key k) {
        String what = k.kind() + " " + k.rows() + " x " + k.c();
        memory.desc data = Dnnl.plain(new long[] {k.rows(), k.c()});
        memory.desc rows = Dnnl.plain(new long[] {k.rows()});
        memory.desc vec = Dnnl.plain(new long[] {k.c()});
        switch (k.kind()) {
            case LN_FORWARD -> {
                var pd = new layer_normalization_forward.primitive_desc(dnnl.engine, prop_kind.forward_training.value,
                        data, data, rows, k.eps(), AFFINE);
                return new Step(what, dnnl, pd, new layer_normalization_forward(pd),
                        new int[] {DNNL_ARG_SRC, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE},
                        new memory.desc[] {data, vec, vec, data, rows, rows});
            }
            case LN_BACKWARD -> {
                var hint = (layer_normalization_forward.primitive_desc) step(new Key(Kind.LN_FORWARD, k.rows(), k.c(), k.eps())).pd;
                var pd = new layer_normalization_backward.primitive_desc(dnnl.engine, prop_kind.backward.value, data, data,
                        data, rows, k.eps(), AFFINE, hint);
                return new Step(what, dnnl, pd, new layer_normalization_backward(pd),
                        new int[] {DNNL_ARG_SRC, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_DIFF_DST, DNNL_ARG_SCALE,
                                DNNL_ARG_DIFF_SRC, DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT},
                        new memory.desc[] {data, rows, rows, data, vec, data, vec, vec});
            }
            case GELU_ERF, GELU_TANH -> {
                var pd = geluForward(k.kind() == Kind.GELU_TANH, k.rows());
                return new Step(what, dnnl, pd, new eltwise_forward(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                        new memory.desc[] {pd.src_desc(), pd.dst_desc()});
            }
            default -> {
                boolean tanh = k.kind() == Kind.GELU_TANH_BACKWARD;
                memory.desc flat = Dnnl.plain(new long[] {k.rows()});
                var hint = geluForward(tanh, k.rows());
                var pd = new eltwise_backward.primitive_desc(dnnl.engine, alg(tanh).value, flat, flat, flat, 0f, 0f, hint);
                return new Step(what, dnnl, pd, new eltwise_backward(pd), new int[] {DNNL_ARG_DIFF_DST, DNNL_ARG_SRC, DNNL_ARG_DIFF_SRC},
                        new memory.desc[] {flat, flat, flat});
            }
        }
    }

    private eltwise_forward.primitive_desc geluForward(boolean tanh, long n) {
        memory.desc flat = Dnnl.plain(new long[] {n});
        return new eltwise_forward.primitive_desc(dnnl.engine, prop_kind.forward_training.value, alg(tanh).value, flat, flat, 0f, 0f);
    }

    private static algorithm alg(boolean tanh) {
        return tanh ? algorithm.eltwise_gelu_tanh : algorithm.eltwise_gelu_erf;
    }

    @Override
    public void close() {
        cache.values().forEach(Step::close);
        cache.clear();
    }
}
