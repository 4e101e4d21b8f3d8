package dev.graft.engine.backend.cuda;

import dev.graft.engine.Shape;
import org.bytedeco.javacpp.DoublePointer;

import static dev.graft.engine.backend.cuda.CudaKernels.Source.REDUCE;

/** Launchers for {@code kernels/reduce.cu}: sumTo and the sum of squares, both accumulating in double. */
final class ReductionKernels {
    static final int MAX_RANK = ElementwiseKernels.MAX_RANK;
    /** Up to this many terms per output, one thread per output beats one block per output. */
    static final long THREAD_PER_OUTPUT_LIMIT = 64;
    private static final int SQUARES_BLOCKS = 1024;

    private final CudaContext ctx;

    ReductionKernels(CudaContext ctx) {
        this.ctx = ctx;
    }

    /** out (target's shape, row-major) = x summed over the dimensions where target is 1 or absent. */
    void sumTo(long out, long x, Shape xs, Shape target) {
        long[] r = reduction(xs, target);
        long outCount = target.numel();
        long redCount = r[r.length - 1];
        if (redCount <= THREAD_PER_OUTPUT_LIMIT) {
            ctx.kernels.launch(REDUCE, "sum_to_thread_f32", outCount, new KernelArgs().ptr(out).ptr(x).struct(r).i64(outCount));
        } else {
            ctx.kernels.launchBlocks(REDUCE, "sum_to_block_f32", outCount, new KernelArgs().ptr(out).ptr(x).struct(r));
        }
    }

    /**
     * The {@code Reduction} struct: kept dimensions (target's non-1 sizes, in order) and reduced ones, with x's
     * row-major strides, then the number of reduced elements. Dimensions of size 1 in x are dropped.
     */
    static long[] reduction(Shape xs, Shape target) {
        int rank = xs.rank();
        if (rank > MAX_RANK) {
            throw new dev.graft.engine.ShapeException("the cuda backend reduces up to rank " + MAX_RANK + ", got " + xs);
        }
        long[] w = new long[3 + 4 * MAX_RANK];
        int keptBase = 1;
        int redRankAt = 1 + 2 * MAX_RANK;
        int redBase = redRankAt + 1;
        int off = rank - target.rank();
        int[] strides = xs.strides();
        int kept = 0;
        int red = 0;
        long redCount = 1;
        for (int d = 0; d < rank; d++) {
            int size = xs.dim(d);
            if (size == 1) {
                continue;
            }
            boolean keep = d - off >= 0 && target.dim(d - off) == size;
            if (keep) {
                w[keptBase + kept] = size;
                w[keptBase + MAX_RANK + kept] = strides[d];
                kept++;
            } else {
                w[redBase + red] = size;
                w[redBase + MAX_RANK + red] = strides[d];
                red++;
                redCount *= size;
            }
        }
        w[0] = kept;
        w[redRankAt] = red;
        w[w.length - 1] = redCount;
        return w;
    }

    /** Sum of x[i]^2 in double: per-block partials on the device, added on the host in a fixed order. */
    double sumOfSquares(long x, long n) {
        if (n == 0) {
            return 0;
        }
        int blocks = (int) Math.max(1, Math.min(SQUARES_BLOCKS, (n + CudaKernels.BLOCK - 1) / CudaKernels.BLOCK));
        DeviceAllocator.Block partial = ctx.scratch(8L * blocks);
        try (DoublePointer host = new DoublePointer(blocks)) {
            ctx.kernels.launchBlocks(REDUCE, "sum_squares_f32", blocks, new KernelArgs().ptr(partial.address()).ptr(x).i64(n));
            ctx.download(host, partial.address(), 8L * blocks);
            double s = 0;
            for (int i = 0; i < blocks; i++) {
                s += host.get(i);
            }
            return s;
        } finally {
            ctx.allocator.release(partial);
        }
    }
}
