package dev.graft.engine.backend.cuda;

import static dev.graft.engine.backend.cuda.CudaKernels.Source.BATCHNORM;

/** Launchers for {@code kernels/batchnorm.cu}: what cuDNN's legacy batch norm does not offer. */
final class BatchNormKernels {
    private final CudaKernels k;

    BatchNormKernels(CudaKernels k) {
        this.k = k;
    }

    /** invStd[c] = 1 / sqrt(var[c] + eps), for cuDNN's backward. */
    void invStd(long invStd, long var, double eps, int c) {
        k.launch(BATCHNORM, "bn_invstd_f32", c, new KernelArgs().ptr(invStd).ptr(var).f64(eps).i64(c));
    }

    /** Eval-mode backward: dx = dy * gamma / sqrt(var + eps), NCHW with hw = H*W. */
    void frozenInputGrad(long dx, long dy, long gamma, long var, double eps, int c, long hw, long total) {
        k.launch(BATCHNORM, "bn_frozen_dx_f32", total, new KernelArgs().ptr(dx).ptr(dy).ptr(gamma).ptr(var).f64(eps).i64(c).i64(hw).i64(total));
    }

    /** dgamma = sum dy * xhat, dbeta = sum dy per channel (one block per channel). */
    void paramGrads(long dgamma, long dbeta, long dy, long x, long mean, long var, double eps, int n, int c, long hw) {
        k.launchBlocks(BATCHNORM, "bn_param_grads_f32", c,
                new KernelArgs().ptr(dgamma).ptr(dbeta).ptr(dy).ptr(x).ptr(mean).ptr(var).f64(eps).i64(n).i64(c).i64(hw));
    }
}
