package dev.graft.engine.backend.cuda;

import org.bytedeco.cuda.cudnn.cudnnTensorStruct;

import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_FLOAT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_NCHW;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetTensor4dDescriptor;

/**
 * A legacy cuDNN 4-D tensor descriptor for dense NCHW F32 data, owned and destroyed by this object. Made per call
 * (a host-side struct, cheap); what is expensive, the convolution algorithm, is cached elsewhere.
 */
@SuppressWarnings("deprecation")
final class TensorDescriptor implements AutoCloseable {
    final cudnnTensorStruct desc = new cudnnTensorStruct();

    TensorDescriptor(int n, int c, int h, int w) {
        CudaCheck.cudnn(cudnnCreateTensorDescriptor(desc), "cudnnCreateTensorDescriptor");
        int rc = cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w);
        if (rc != 0) {
            close();
            CudaCheck.cudnn(rc, "cudnnSetTensor4dDescriptor(" + n + ", " + c + ", " + h + ", " + w + ")");
        }
    }

    /** [N, C, H, W] of a rank-4 shape; [N, C, rest, 1] for rank 2 or 3 (per-channel ops over dim 1). */
    static TensorDescriptor nchw(dev.graft.engine.Shape s) {
        if (s.rank() == 4) {
            return new TensorDescriptor(s.dim(0), s.dim(1), s.dim(2), s.dim(3));
        }
        int rest = s.numel() / Math.max(1, s.dim(0) * s.dim(1));
        return new TensorDescriptor(s.dim(0), s.dim(1), rest, 1);
    }

    @Override
    public void close() {
        if (!desc.isNull()) {
            CudaCheck.cudnn(cudnnDestroyTensorDescriptor(desc), "cudnnDestroyTensorDescriptor");
            desc.setNull();
        }
    }
}
