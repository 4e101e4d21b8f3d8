package dev.graft.engine.backend.cuda;

import dev.graft.engine.Shape;

import static org.bytedeco.cuda.global.cudnn.CUDNN_BATCHNORM_SPATIAL;
import static org.bytedeco.cuda.global.cudnn.cudnnBatchNormalizationBackward;
import static org.bytedeco.cuda.global.cudnn.cudnnBatchNormalizationForwardInference;
import static org.bytedeco.cuda.global.cudnn.cudnnBatchNormalizationForwardTraining;
import static org.bytedeco.cuda.global.cudnn.cudnnDeriveBNTensorDescriptor;

/**
 * Spatial batch norm (per channel of NCHW data) through cuDNN's legacy calls; the only class that makes them.
 * Vectors gamma, beta, mean, variance are [C] F32 (cuDNN's 1xCx1x1 "derived" descriptor).
 *
 * <p>Training returns the batch mean and the BIASED variance (divided by M = N*H*W), as the SPI asks; the
 * caller updates running statistics. cuDNN reports the batch variance only through its running-variance
 * update, unbiased (M/(M-1)), as PyTorch relies on: we pass a zeroed running pair with exponential factor 1, so
 * running = 0*old + 1*batch, and scale the variance by (M-1)/M afterwards. (1/invstd^2 - eps would lose digits
 * when the variance is far below eps.)
 */
@SuppressWarnings("deprecation")
final class CudnnBatchNorm {
    private final CudaContext ctx;

    CudnnBatchNorm(CudaContext ctx) {
        this.ctx = ctx;
    }

    /**
     * y = normalised x with the batch statistics. Writes the batch mean [C] into {@code saveMean}, 1/sqrt(var+eps)
     * into {@code saveInvStd}, and (zeroing them first) the batch mean and UNBIASED variance into
     * {@code runningMean} and {@code runningVar}; the caller rescales the variance.
     */
    void training(long x, Shape xs, long gamma, long beta, double eps, long y, long saveMean, long saveInvStd,
                  long runningMean, long runningVar) {
        Handles h = ctx.handles();
        long c = xs.dim(1);
        ctx.zero(runningMean, 4 * c);
        ctx.zero(runningVar, 4 * c);
        try (TensorDescriptor xd = TensorDescriptor.nchw(xs); TensorDescriptor bn = derived(xd)) {
            CudaCheck.cudnn(cudnnBatchNormalizationForwardTraining(h.cudnn, CUDNN_BATCHNORM_SPATIAL, ctx.one, ctx.zero,
                    xd.desc, DevicePointer.of(x), xd.desc, DevicePointer.of(y), bn.desc, DevicePointer.of(gamma), DevicePointer.of(beta),
                    1.0, DevicePointer.of(runningMean), DevicePointer.of(runningVar), eps, DevicePointer.of(saveMean), DevicePointer.of(saveInvStd)),
                    "cudnnBatchNormalizationForwardTraining(" + xs + ")");
        }
    }

    /** y = (x - mean) / sqrt(var + eps) * gamma + beta with given statistics (eval mode). */
    void inference(long x, Shape xs, long gamma, long beta, long mean, long var, double eps, long y) {
        Handles h = ctx.handles();
        try (TensorDescriptor xd = TensorDescriptor.nchw(xs); TensorDescriptor bn = derived(xd)) {
            CudaCheck.cudnn(cudnnBatchNormalizationForwardInference(h.cudnn, CUDNN_BATCHNORM_SPATIAL, ctx.one, ctx.zero,
                    xd.desc, DevicePointer.of(x), xd.desc, DevicePointer.of(y), bn.desc, DevicePointer.of(gamma), DevicePointer.of(beta),
                    DevicePointer.of(mean), DevicePointer.of(var), eps), "cudnnBatchNormalizationForwardInference(" + xs + ")");
        }
    }

    /**
     * Gradients when the forward used the batch's own statistics: dx, dgamma, dbeta (all written, beta = 0).
     * {@code mean} and {@code invStd} are the forward's batch mean and 1/sqrt(biased var + eps).
     */
    void backward(long dy, long x, Shape xs, long gamma, long mean, long invStd, double eps, long dx, long dgamma, long dbeta) {
        Handles h = ctx.handles();
        try (TensorDescriptor xd = TensorDescriptor.nchw(xs); TensorDescriptor bn = derived(xd)) {
            CudaCheck.cudnn(cudnnBatchNormalizationBackward(h.cudnn, CUDNN_BATCHNORM_SPATIAL, ctx.one, ctx.zero, ctx.one, ctx.zero,
                    xd.desc, DevicePointer.of(x), xd.desc, DevicePointer.of(dy), xd.desc, DevicePointer.of(dx), bn.desc,
                    DevicePointer.of(gamma), DevicePointer.of(dgamma), DevicePointer.of(dbeta), eps, DevicePointer.of(mean),
                    DevicePointer.of(invStd)), "cudnnBatchNormalizationBackward(" + xs + ")");
        }
    }

    private static TensorDescriptor derived(TensorDescriptor x) {
        TensorDescriptor bn = new TensorDescriptor(1, 1, 1, 1);
        try {
            CudaCheck.cudnn(cudnnDeriveBNTensorDescriptor(bn.desc, x.desc, CUDNN_BATCHNORM_SPATIAL), "cudnnDeriveBNTensorDescriptor");
            return bn;
        } catch (RuntimeException e) {
            bn.close();
            throw e;
        }
    }
}
