package dev.graft.engine.backend.cuda;

import static org.bytedeco.cuda.global.cudnn.CUDNN_SOFTMAX_ACCURATE;
import static org.bytedeco.cuda.global.cudnn.CUDNN_SOFTMAX_LOG;
import static org.bytedeco.cuda.global.cudnn.CUDNN_SOFTMAX_MODE_INSTANCE;
import static org.bytedeco.cuda.global.cudnn.cudnnSoftmaxBackward;
import static org.bytedeco.cuda.global.cudnn.cudnnSoftmaxForward;

/**
 * Log-softmax over dim 1 of [N, C] through cuDNN's legacy softmax calls (the only class that makes them): the
 * array is N x C x 1 x 1 and INSTANCE mode normalises over C*H*W = C per row. The LOG algorithm subtracts the
 * row maximum first; its backward is dx = dy - exp(y) * rowsum(dy), the SPI's formula.
 */
@SuppressWarnings("deprecation")
final class CudnnSoftmax {
    private final CudaContext ctx;

    CudnnSoftmax(CudaContext ctx) {
        this.ctx = ctx;
    }

    void logForward(long x, long y, int n, int c) {
        Handles h = ctx.handles();
        try (TensorDescriptor d = new TensorDescriptor(n, c, 1, 1)) {
            CudaCheck.cudnn(cudnnSoftmaxForward(h.cudnn, CUDNN_SOFTMAX_LOG, CUDNN_SOFTMAX_MODE_INSTANCE, ctx.one, d.desc, DevicePointer.of(x),
                    ctx.zero, d.desc, DevicePointer.of(y)), "cudnnSoftmaxForward(log, [" + n + ", " + c + "])");
        }
    }

    void logBackward(long dy, long y, long dx, int n, int c) {
        Handles h = ctx.handles();
        try (TensorDescriptor d = new TensorDescriptor(n, c, 1, 1)) {
            CudaCheck.cudnn(cudnnSoftmaxBackward(h.cudnn, CUDNN_SOFTMAX_LOG, CUDNN_SOFTMAX_MODE_INSTANCE, ctx.one, d.desc, DevicePointer.of(y),
                    d.desc, DevicePointer.of(dy), ctx.zero, d.desc, DevicePointer.of(dx)), "cudnnSoftmaxBackward(log, [" + n + ", " + c + "])");
        }
    }

    /** Softmax over the last axis of {@code rows} rows of {@code c} (ACCURATE: the row maximum is subtracted first). */
    void forward(long x, long y, int rows, int c) {
        Handles h = ctx.handles();
        try (TensorDescriptor d = new TensorDescriptor(rows, c, 1, 1)) {
            CudaCheck.cudnn(cudnnSoftmaxForward(h.cudnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE, ctx.one, d.desc, DevicePointer.of(x),
                    ctx.zero, d.desc, DevicePointer.of(y)), "cudnnSoftmaxForward(accurate, [" + rows + ", " + c + "])");
        }
    }

    /** dx = y * (dy - rowsum(dy * y)). */
    void backward(long dy, long y, long dx, int rows, int c) {
        Handles h = ctx.handles();
        try (TensorDescriptor d = new TensorDescriptor(rows, c, 1, 1)) {
            CudaCheck.cudnn(cudnnSoftmaxBackward(h.cudnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE, ctx.one, d.desc, DevicePointer.of(y),
                    d.desc, DevicePointer.of(dy), ctx.zero, d.desc, DevicePointer.of(dx)), "cudnnSoftmaxBackward(accurate, [" + rows + ", " + c + "])");
        }
    }
}
