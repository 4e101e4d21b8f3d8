package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reduction;
import org.bytedeco.javacpp.Pointer;

import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;

/**
 * Sums. {@code sumTo} uses oneDNN's reduction primitive when it has a jit kernel for the pattern (reducing
 * the innermost physical dimensions: 3 ms for 25.7M floats here) and falls back to a plain parallel loop
 * with double accumulators when oneDNN would pick {@code ref:any}, which it does for outer or full
 * reductions (226-524 ms for the same tensor, e.g. per-channel sums of a channels-last array). The choice is
 * made once per shape. {@code sumOfSquares} accumulates in double as the SPI asks.
 */
final class CpuReduction implements AutoCloseable {
    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final CpuReorders reorders;
    private final Parallel parallel;
    /** Empty Optional: oneDNN has only its reference kernel for this pattern; use the Java loop. */
    private final Map<Key, Optional<Step>> cache = new HashMap<>();

    private record Key(Shape x, Layout layout, Shape target) {
    }

    CpuReduction(Dnnl dnnl, CpuBackend backend, CpuReorders reorders, Parallel parallel) {
        this.dnnl = dnnl;
        this.backend = backend;
        this.reorders = reorders;
        this.parallel = parallel;
    }

    /** Sums x over the dimensions where target (right-aligned) is 1 or absent; the result is row-major. */
    NDArray sumTo(NDArray x, Shape target) {
        NDArray out = backend.empty(DType.F32, target, Layout.ROW_MAJOR);
        NativeBuffer ob = NativeBuffer.of(out);
        if (x.numel() == 0) {
            Pointer.memset(ob.pointer(), 0, (long) target.numel() * Float.BYTES);
            return out;
        }
        if (target.numel() == x.numel()) {
            // Nothing is summed: the same values in row-major order.
            NDArray rm = reorders.toLayout(x, Layout.ROW_MAJOR, backend);
            Pointer.memcpy(ob.pointer(), NativeBuffer.of(rm).pointer(), (long) x.numel() * Float.BYTES);
            CpuReorders.release(rm, x);
            return out;
        }
        Optional<Step> step = cache.computeIfAbsent(new Key(x.shape(), x.layout(), target), this::build);
        if (step.isPresent()) {
            step.get().run(dnnl, NativeBuffer.of(x).pointer(), ob.pointer());
        } else {
            new StridedSum(x, target, parallel).into(ob);
        }
        return out;
    }

    private Optional<Step> build(Key k) {
        String what = "reduction sum " + k.x() + " -> " + k.target();
        Step step = Dnnl.build(what, () -> {
            memory.desc src = Dnnl.desc(k.x(), k.layout());
            memory.desc dst = Dnnl.plain(CpuBinary.padded(k.target(), k.x().rank()));
            reduction.primitive_desc pd = new reduction.primitive_desc(dnnl.engine, algorithm.reduction_sum, src, dst, 0f, 0f);
            return new Step(what, dnnl, pd, new reduction(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                    new memory.desc[] {src, dst});
        });
        if (step.implementation().startsWith("ref")) {
            step.close();
            return Optional.empty();
        }
        return Optional.of(step);
    }

    /** Sum of x², accumulated in double, chunk partials added in a fixed order. */
    double sumOfSquares(NDArray x) {
        NativeBuffer b = NativeBuffer.of(x);
        return parallel.sum(x.numel(), (start, n) -> {
            FloatBuffer v = b.floats(start, n);
            double s = 0;
            for (int i = 0; i < n; i++) {
                double e = v.get(i);
                s += e * e;
            }
            return s;
        });
    }

    /** True if some element is NaN or infinite (exponent bits all ones; a branch-free loop the JIT vectorises, 7 ms per 25.7M floats). */
    boolean hasNonFinite(NDArray x) {
        NativeBuffer b = NativeBuffer.of(x);
        double count = parallel.sum(x.numel(), (start, n) -> {
            FloatBuffer v = b.floats(start, n);
            int c = 0;
            for (int i = 0; i < n; i++) {
                c += (Float.floatToRawIntBits(v.get(i)) & 0x7f800000) == 0x7f800000 ? 1 : 0;
            }
            return c;
        });
        return count > 0;
    }

    @Override
    public void close() {
        cache.values().forEach(o -> o.ifPresent(Step::close));
        cache.clear();
    }
}
