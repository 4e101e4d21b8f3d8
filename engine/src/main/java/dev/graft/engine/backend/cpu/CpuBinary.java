package dev.graft.engine.backend.cpu;

import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import org.bytedeco.dnnl.binary;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.memory;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_0;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_1;

/**
 * {@code a + b} and {@code a * b} with b broadcast to a (right-aligned, sizes equal or 1) through oneDNN's
 * binary primitive. 4-D results are channels-last. b is described with the strides it has (padded with
 * leading 1s to a's rank); a full-size row-major b is first reordered to channels-last, because oneDNN's fast
 * binary kernels want both sources in one layout. Per-channel and scalar operands broadcast without copies.
 */
final class CpuBinary implements AutoCloseable {
    enum Op { ADD, MUL }

    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final CpuReorders reorders;
    private final Map<Key, Step> cache = new HashMap<>();

    private record Key(Op op, Shape a, Layout layout, List<Long> bDims, boolean bChannelsLast) {
    }

    CpuBinary(Dnnl dnnl, CpuBackend backend, CpuReorders reorders) {
        this.dnnl = dnnl;
        this.backend = backend;
        this.reorders = reorders;
    }

    NDArray apply(Op op, NDArray a, NDArray b) {
        Layout layout = CpuElementwise.activationLayout(a);
        NDArray as = reorders.toLayout(a, layout, backend);
        NDArray bs = b;
        if (layout == Layout.CHANNELS_LAST && b.shape().equals(a.shape())) {
            bs = reorders.toLayout(b, layout, backend);
        }
        long[] bDims = padded(b.shape(), a.shape().rank());
        // A b whose padded shape has one channel or one pixel has the same order under nchw and nhwc strides.
        boolean bChannelsLast = layout == Layout.CHANNELS_LAST
                && (bs.layout() == Layout.CHANNELS_LAST || bDims[1] == 1 || bDims[2] * bDims[3] == 1);
        NDArray out = as.buffer() != a.buffer() ? as : backend.empty(a.dtype(), a.shape(), layout);
        if (a.numel() > 0) {
            Step step = cache.computeIfAbsent(new Key(op, a.shape(), layout, asList(bDims), bChannelsLast),
                    k -> build(k, bDims));
            step.run(dnnl, NativeBuffer.of(as).pointer(), NativeBuffer.of(bs).pointer(), NativeBuffer.of(out).pointer());
        }
        CpuReorders.release(bs, b);
        return out;
    }

    private Step build(Key k, long[] bDims) {
        String what = "binary " + k.op() + " " + k.a() + " with " + Arrays.toString(bDims);
        return Dnnl.build(what, () -> {
            memory.desc aDesc = Dnnl.desc(k.a(), k.layout());
            memory.desc bDesc = k.bChannelsLast() ? Dnnl.nhwc(bDims) : Dnnl.plain(bDims);
            algorithm alg = k.op() == Op.ADD ? algorithm.binary_add : algorithm.binary_mul;
            binary.primitive_desc pd = new binary.primitive_desc(dnnl.engine, alg, aDesc, bDesc, aDesc);
            return new Step(what, dnnl, pd, new binary(pd), new int[] {DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST},
                    new memory.desc[] {aDesc, bDesc, aDesc});
        });
    }

    /** b's dims right-aligned to {@code rank} with leading 1s (a scalar becomes all 1s). */
    static long[] padded(Shape b, int rank) {
        int r = Math.max(rank, 1);
        long[] d = new long[r];
        Arrays.fill(d, 1);
        for (int i = 0; i < b.rank(); i++) {
            d[r - b.rank() + i] = b.dim(i);
        }
        return d;
    }

    private static List<Long> asList(long[] d) {
        return Arrays.stream(d).boxed().toList();
    }

    @Override
    public void close() {
        cache.values().forEach(Step::close);
        cache.clear();
    }
}
