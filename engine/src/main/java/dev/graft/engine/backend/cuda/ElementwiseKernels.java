package dev.graft.engine.backend.cuda;

import dev.graft.engine.Shape;

import static dev.graft.engine.backend.cuda.CudaKernels.Source.ELEMENTWISE;

/** Launchers for {@code kernels/elementwise.cu}; device addresses in, nothing allocated here. */
final class ElementwiseKernels {
    static final int MAX_RANK = 8;

    private final CudaKernels k;

    ElementwiseKernels(CudaKernels k) {
        this.k = k;
    }

    void fill(long a, float value, long n) {
        k.launch(ELEMENTWISE, "fill_f32", n, new KernelArgs().ptr(a).f32(value).i64(n));
    }

    void scale(long out, long x, float alpha, long n) {
        k.launch(ELEMENTWISE, "scale_f32", n, new KernelArgs().ptr(out).ptr(x).f32(alpha).i64(n));
    }

    /** dx = y <= 0 ? 0 : dy (torch's threshold_backward), y being relu's output. */
    void reluBackward(long dx, long dy, long y, long n) {
        k.launch(ELEMENTWISE, "relu_backward_f32", n, new KernelArgs().ptr(dx).ptr(dy).ptr(y).i64(n));
    }

    /** out = a + b (or a * b) with b broadcast, right-aligned, into a's shape. */
    void binary(boolean multiply, long out, long a, Shape as, long b, Shape bs) {
        long n = as.numel();
        if (bs.numel() == as.numel()) {
            k.launch(ELEMENTWISE, multiply ? "mul_f32" : "add_f32", n, new KernelArgs().ptr(out).ptr(a).ptr(b).i64(n));
        } else {
            k.launch(ELEMENTWISE, multiply ? "mul_bcast_f32" : "add_bcast_f32", n,
                    new KernelArgs().ptr(out).ptr(a).ptr(b).i64(n).struct(broadcast(as, bs)));
        }
    }

    /** The {@code Broadcast} struct: rank, a's sizes, b's stride in each of a's dimensions (0 when broadcast). */
    static long[] broadcast(Shape as, Shape bs) {
        int rank = as.rank();
        if (rank > MAX_RANK) {
            throw new dev.graft.engine.ShapeException("the cuda backend broadcasts up to rank " + MAX_RANK + ", got " + as);
        }
        long[] w = new long[1 + 2 * MAX_RANK];
        w[0] = rank;
        int off = rank - bs.rank();
        int[] bStrides = bs.strides();
        for (int d = 0; d < rank; d++) {
            w[1 + d] = as.dim(d);
            int bd = d - off;
            w[1 + MAX_RANK + d] = bd >= 0 && bs.dim(bd) != 1 ? bStrides[bd] : 0;
        }
        return w;
    }

    /** Physical NCHW to NHWC of a logical [n, c, h, w] array (or back, when {@code toChannelsLast} is false). */
    void transpose(boolean toChannelsLast, long out, long in, Shape s) {
        long total = s.numel();
        k.launch(ELEMENTWISE, toChannelsLast ? "nchw_to_nhwc_f32" : "nhwc_to_nchw_f32", total,
                new KernelArgs().ptr(out).ptr(in).i64(s.dim(1)).i64((long) s.dim(2) * s.dim(3)).i64(total));
    }

    void avgPoolBackward(long dx, long dy, long hw, long total) {
        k.launch(ELEMENTWISE, "avgpool_global_backward_f32", total, new KernelArgs().ptr(dx).ptr(dy).i64(hw).i64(total));
    }

    /**
     * A permuted copy through the broadcast kernel: {@code out[i] = ones[i] * x[offset(i)]} where the "broadcast"
     * strides are x's strides in the output's axis order, so offset(i) is the input element of output index i.
     * {@code ones} holds 1.0f in every element; multiplying by 1 is exact for every float (NaN and -0 included).
     */
    void permute(long out, long ones, long x, Shape xs, int[] perm) {
        int rank = xs.rank();
        if (rank > MAX_RANK) {
            throw new dev.graft.engine.ShapeException("the cuda backend permutes up to rank " + MAX_RANK + ", got " + xs);
        }
        long[] w = new long[1 + 2 * MAX_RANK];
        w[0] = rank;
        int[] strides = xs.strides();
        long n = xs.numel();
        for (int d = 0; d < rank; d++) {
            w[1 + d] = xs.dim(perm[d]);
            w[1 + MAX_RANK + d] = strides[perm[d]];
        }
        k.launch(ELEMENTWISE, "mul_bcast_f32", n, new KernelArgs().ptr(out).ptr(ones).ptr(x).i64(n).struct(w));
    }
}
