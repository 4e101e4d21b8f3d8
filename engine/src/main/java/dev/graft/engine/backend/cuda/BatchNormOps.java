package dev.graft.engine.backend.cuda;

import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

import static dev.graft.engine.backend.cuda.CudaArrays.addr;

/**
 * Batch norm as the SPI defines it, from cuDNN's legacy calls ({@link CudnnBatchNorm}) and three small kernels
 * ({@link BatchNormKernels}). Arrays are dense NCHW; outputs are allocated by the caller.
 */
final class BatchNormOps {
    private final CudaContext ctx;
    private final CudnnBatchNorm cudnn;
    private final BatchNormKernels kernels;
    private final CublasOps blas;

    BatchNormOps(CudaContext ctx, CublasOps blas) {
        this.ctx = ctx;
        this.cudnn = new CudnnBatchNorm(ctx);
        this.kernels = new BatchNormKernels(ctx.kernels);
        this.blas = blas;
    }

    /** Writes y, the batch mean and the BIASED batch variance (divided by M = N*H*W). */
    void training(NDArray x, NDArray gamma, NDArray beta, double eps, NDArray y, NDArray mean, NDArray variance) {
        Shape xs = x.shape();
        int c = xs.dim(1);
        long m = (long) xs.numel() / Math.max(1, c);
        DeviceAllocator.Block invStd = ctx.scratch(4L * c);
        DeviceAllocator.Block runningMean = ctx.scratch(4L * c);
        try {
            cudnn.training(addr(x), xs, addr(gamma), addr(beta), eps, addr(y), addr(mean), invStd.address(), runningMean.address(),
                    addr(variance));
        } finally {
            ctx.allocator.release(invStd);
            ctx.allocator.release(runningMean);
        }
        // cuDNN left the unbiased variance (divided by M-1); the SPI returns the biased one (divided by M).
        if (m > 1) {
            blas.scal(c, (float) ((m - 1) / (double) m), addr(variance));
        } else {
            ctx.zero(addr(variance), 4L * c);
        }
    }

    void inference(NDArray x, NDArray gamma, NDArray beta, NDArray mean, NDArray variance, double eps, NDArray y) {
        cudnn.inference(addr(x), x.shape(), addr(gamma), addr(beta), addr(mean), addr(variance), eps, addr(y));
    }

    /** Fills whichever of dx, dgamma, dbeta are non-null. */
    void backward(NDArray dy, NDArray x, NDArray gamma, NDArray mean, NDArray variance, double eps, boolean batchStatistics,
                  NDArray dx, NDArray dgamma, NDArray dbeta) {
        Shape xs = x.shape();
        int n = xs.dim(0);
        int c = xs.dim(1);
        long hw = (long) xs.numel() / Math.max(1, (long) n * c);
        if (batchStatistics) {
            // cuDNN always writes dx, dgamma and dbeta: unneeded ones go to scratch (separate blocks keep each aligned).
            DeviceAllocator.Block invStd = ctx.scratch(4L * c);
            DeviceAllocator.Block dxScratch = dx != null ? DeviceAllocator.Block.EMPTY : ctx.scratch(4L * xs.numel());
            DeviceAllocator.Block dgScratch = dgamma != null ? DeviceAllocator.Block.EMPTY : ctx.scratch(4L * c);
            DeviceAllocator.Block dbScratch = dbeta != null ? DeviceAllocator.Block.EMPTY : ctx.scratch(4L * c);
            try {
                kernels.invStd(invStd.address(), addr(variance), eps, c);
                cudnn.backward(addr(dy), addr(x), xs, addr(gamma), addr(mean), invStd.address(), eps,
                        dx != null ? addr(dx) : dxScratch.address(),
                        dgamma != null ? addr(dgamma) : dgScratch.address(),
                        dbeta != null ? addr(dbeta) : dbScratch.address());
            } finally {
                ctx.allocator.release(invStd);
                ctx.allocator.release(dxScratch);
                ctx.allocator.release(dgScratch);
                ctx.allocator.release(dbScratch);
            }
        } else {
            // Fixed statistics (eval mode): the inference formula, dx = dy * gamma * invstd, no terms through the mean.
            if (dx != null) {
                kernels.frozenInputGrad(addr(dx), addr(dy), addr(gamma), addr(variance), eps, c, hw, xs.numel());
            }
            if (dgamma != null && dbeta != null) {
                kernels.paramGrads(addr(dgamma), addr(dbeta), addr(dy), addr(x), addr(mean), addr(variance), eps, n, c, hw);
            }
        }
    }
}
