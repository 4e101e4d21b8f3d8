package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

import java.nio.FloatBuffer;

/**
 * Channel concatenation and its inverse on NHWC activations: in channels-last order each pixel's channels are one
 * contiguous run, so cat(dim=1) copies input i's run of C_i floats into the output pixel's run at channel offset
 * c0_i (and the split copies it back). A pure copy: the values are bit-exact. Pixels are split across threads in
 * blocks of {@link #BLOCK} so each FloatBuffer view stays far below {@link NativeMemory#MAX_VIEW}.
 */
final class CpuConcat {
    private static final int BLOCK = 1024;

    private final CpuBackend backend;
    private final CpuReorders reorders;
    private final Parallel parallel;

    CpuConcat(CpuBackend backend, CpuReorders reorders, Parallel parallel) {
        this.backend = backend;
        this.reorders = reorders;
        this.parallel = parallel;
    }

    NDArray concat(NDArray[] xs) {
        Shape s = xs[0].shape();
        int total = 0;
        for (NDArray x : xs) {
            total += x.shape().dim(1);
        }
        NDArray y = backend.empty(DType.F32, Shape.of(s.dim(0), total, s.dim(2), s.dim(3)), Layout.CHANNELS_LAST);
        int c0 = 0;
        for (NDArray x : xs) {
            NDArray xc = reorders.channelsLast(x, backend);
            copy(NativeBuffer.of(xc), x.shape().dim(1), 0, NativeBuffer.of(y), total, c0, pixels(s));
            CpuReorders.release(xc, x);
            c0 += x.shape().dim(1);
        }
        return y;
    }

    NDArray[] split(NDArray x, int[] channels) {
        Shape s = x.shape();
        NDArray xc = reorders.channelsLast(x, backend);
        NDArray[] parts = new NDArray[channels.length];
        int c0 = 0;
        for (int k = 0; k < channels.length; k++) {
            parts[k] = backend.empty(DType.F32, Shape.of(s.dim(0), channels[k], s.dim(2), s.dim(3)), Layout.CHANNELS_LAST);
            copy(NativeBuffer.of(xc), s.dim(1), c0, NativeBuffer.of(parts[k]), channels[k], 0, pixels(s));
            c0 += channels[k];
        }
        CpuReorders.release(xc, x);
        return parts;
    }

    private static long pixels(Shape s) {
        return (long) s.dim(0) * s.dim(2) * s.dim(3);
    }

    /**
     * For every pixel p copies {@code width} floats from {@code src[p * srcC + srcOff]} to
     * {@code dst[p * dstC + dstOff]}, width being the narrower array's channel count (the input's or the part's).
     */
    private void copy(NativeBuffer src, int srcC, int srcOff, NativeBuffer dst, int dstC, int dstOff, long pixels) {
        int width = Math.min(srcC, dstC);
        long blocks = (pixels + BLOCK - 1) / BLOCK;
        parallel.forEach(blocks, (start, count) -> {
            for (long b = start; b < start + count; b++) {
                long p0 = b * BLOCK;
                int n = (int) Math.min(BLOCK, pixels - p0);
                FloatBuffer from = src.floats(p0 * srcC, n * srcC);
                FloatBuffer to = dst.floats(p0 * dstC, n * dstC);
                for (int p = 0; p < n; p++) {
                    to.put(p * dstC + dstOff, from, p * srcC + srcOff, width);
                }
            }
        });
    }
}
