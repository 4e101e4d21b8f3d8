package dev.graft.engine.backend.cpu;

import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import java.util.HashMap;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;

/**
 * Layout changes (row-major NCHW <-> channels-last NHWC) with cached oneDNN reorders, plain copies, and the
 * host boundary, where data is always logical row-major. Two arrays share a physical order when their
 * layouts are equal or when the 4-D shape has one channel or one pixel (then NCHW and NHWC coincide).
 */
final class CpuReorders implements AutoCloseable {
    private final Dnnl dnnl;
    private final Map<Key, Step> cache = new HashMap<>();

    private record Key(Shape shape, Layout from, Layout to) {
    }

    CpuReorders(Dnnl dnnl) {
        this.dnnl = dnnl;
    }

    /** True when {@code a} stored in {@code layout} would have the same element order as it has now. */
    static boolean storedAs(NDArray a, Layout layout) {
        return a.layout() == layout || bothOrdersCoincide(a.shape());
    }

    /** NCHW and NHWC orders are the same when there is one channel or one pixel. */
    static boolean bothOrdersCoincide(Shape s) {
        return s.rank() == 4 && (s.dim(1) == 1 || s.dim(2) * s.dim(3) == 1);
    }

    /** Overwrites {@code dst} with {@code src} (equal shapes, any layouts). */
    void copy(NDArray src, NDArray dst) {
        NativeBuffer s = NativeBuffer.of(src);
        NativeBuffer d = NativeBuffer.of(dst);
        if (storedAs(src, dst.layout())) {
            Pointer.memcpy(d.pointer(), s.pointer(), (long) src.numel() * Float.BYTES);
        } else {
            step(src.shape(), src.layout(), dst.layout()).run(dnnl, s.pointer(), d.pointer());
        }
        d.bumpVersion();
    }

    /** {@code a} itself if it is already stored as {@code layout} (relabelled if need be), else a new copy. */
    NDArray toLayout(NDArray a, Layout layout, CpuBackend backend) {
        if (a.layout() == layout) {
            return a;
        }
        if (storedAs(a, layout)) {
            return new NDArray(backend, a.buffer(), a.shape(), layout);
        }
        NDArray out = backend.empty(a.dtype(), a.shape(), layout);
        copy(a, out);
        return out;
    }

    /**
     * A 4-D array stored channels-last: {@code a} itself or a relabelled view when possible, else a temporary
     * copy the caller frees with {@link #release}.
     */
    NDArray channelsLast(NDArray a, CpuBackend backend) {
        return toLayout(a, Layout.CHANNELS_LAST, backend);
    }

    /** Frees {@code maybeCopy} if it is a temporary made from {@code original}. */
    static void release(NDArray maybeCopy, NDArray original) {
        if (maybeCopy != null && maybeCopy.buffer() != original.buffer()) {
            maybeCopy.buffer().close();
        }
    }

    float[] toHost(NDArray a) {
        NativeBuffer b = NativeBuffer.of(a);
        float[] out = new float[a.numel()];
        if (a.isRowMajorOrder()) {
            b.pointer().get(out);
            return out;
        }
        try (NativeMemory tmp = new NativeMemory((long) a.numel() * Float.BYTES)) {
            step(a.shape(), a.layout(), Layout.ROW_MAJOR).run(dnnl, b.pointer(), tmp.pointer());
            tmp.pointer().get(out);
        }
        return out;
    }

    void fromHost(NDArray dst, float[] data) {
        NativeBuffer d = NativeBuffer.of(dst);
        if (dst.isRowMajorOrder()) {
            d.pointer().put(data);
        } else {
            try (NativeMemory tmp = new NativeMemory((long) data.length * Float.BYTES)) {
                FloatPointer p = tmp.pointer();
                p.put(data);
                step(dst.shape(), Layout.ROW_MAJOR, dst.layout()).run(dnnl, p, d.pointer());
            }
        }
        d.bumpVersion();
    }

    /** A cached reorder between two descriptors of the same logical tensor (also used for weights). */
    Step reorder(String what, memory.desc from, memory.desc to) {
        return Dnnl.build(what, () -> {
            reorder.primitive_desc pd = new reorder.primitive_desc(dnnl.engine, from, dnnl.engine, to);
            return new Step(what, dnnl, pd, new reorder(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                    new memory.desc[] {from, to});
        });
    }

    private Step step(Shape shape, Layout from, Layout to) {
        return cache.computeIfAbsent(new Key(shape, from, to), k -> Dnnl.build("reorder " + shape + " " + from + " -> " + to,
                () -> {
                    memory.desc src = Dnnl.desc(shape, from);
                    memory.desc dst = Dnnl.desc(shape, to);
                    reorder.primitive_desc pd = new reorder.primitive_desc(dnnl.engine, src, dnnl.engine, dst);
                    return new Step("reorder", dnnl, pd, new reorder(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                            new memory.desc[] {src, dst});
                }));
    }

    @Override
    public void close() {
        cache.values().forEach(Step::close);
        cache.clear();
    }
}
