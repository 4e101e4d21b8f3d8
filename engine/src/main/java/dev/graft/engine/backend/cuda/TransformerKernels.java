package dev.graft.engine.backend.cuda;

import static dev.graft.engine.backend.cuda.CudaKernels.Source.TRANSFORMER;

/**
 * Launchers for {@code kernels/transformer.cu} (layer norm over the last axis, GELU) and roll / zero padding /
 * crop as strided device copies ({@code cudaMemcpy2DAsync}: one run per outer index of the axis). Device addresses
 * in, row-major data, nothing allocated here.
 */
final class TransformerKernels {
    private final CudaContext ctx;

    TransformerKernels(CudaContext ctx) {
        this.ctx = ctx;
    }

    void layerNorm(long y, long mean, long var, long x, long w, long b, double eps, long rows, long c) {
        ctx.kernels.launchBlocks(TRANSFORMER, "ln_forward_f32", rows,
                new KernelArgs().ptr(y).ptr(mean).ptr(var).ptr(x).ptr(w).ptr(b).f64(eps).i64(c));
    }

    void layerNormBackwardInput(long dx, long dy, long x, long w, long mean, long var, double eps, long rows, long c) {
        ctx.kernels.launchBlocks(TRANSFORMER, "ln_backward_dx_f32", rows,
                new KernelArgs().ptr(dx).ptr(dy).ptr(x).ptr(w).ptr(mean).ptr(var).f64(eps).i64(c));
    }

    void layerNormBackwardParams(long dw, long db, long dy, long x, long mean, long var, double eps, long rows, long c) {
        ctx.kernels.launch(TRANSFORMER, "ln_backward_params_f32", c,
                new KernelArgs().ptr(dw).ptr(db).ptr(dy).ptr(x).ptr(mean).ptr(var).f64(eps).i64(rows).i64(c));
    }

    void gelu(long y, long x, boolean tanh, long n) {
        ctx.kernels.launch(TRANSFORMER, "gelu_f32", n, new KernelArgs().ptr(y).ptr(x).i32(tanh ? 1 : 0).i64(n));
    }

    void geluBackward(long dx, long dy, long x, boolean tanh, long n) {
        ctx.kernels.launch(TRANSFORMER, "gelu_backward_f32", n, new KernelArgs().ptr(dx).ptr(dy).ptr(x).i32(tanh ? 1 : 0).i64(n));
    }

    /** One axis seen as [outer, n, inner]: y[o, (j + shift) mod n, :] = x[o, j, :]; 0 < shift < n. */
    void roll(long y, long x, long outer, long n, long inner, long shift) {
        long block = 4 * n * inner;
        ctx.copy2d(y + 4 * shift * inner, block, x, block, 4 * (n - shift) * inner, outer);
        ctx.copy2d(y, block, x + 4 * (n - shift) * inner, block, 4 * shift * inner, outer);
    }

    /** One axis: y [outer, before + n + after, inner] gets zeros and x [outer, n, inner] at offset before. */
    void pad(long y, long x, long outer, long n, long inner, long before, long after) {
        long m = before + n + after;
        ctx.zero(y, 4 * outer * m * inner);
        ctx.copy2d(y + 4 * before * inner, 4 * m * inner, x, 4 * n * inner, 4 * n * inner, outer);
    }

    /** One axis: y [outer, n, inner] = x [outer, m, inner] at offset before. */
    void crop(long y, long x, long outer, long m, long inner, long before, long n) {
        ctx.copy2d(y, 4 * n * inner, x + 4 * before * inner, 4 * m * inner, 4 * n * inner, outer);
    }
}
