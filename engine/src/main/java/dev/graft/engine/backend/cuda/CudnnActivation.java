package dev.graft.engine.backend.cuda;

import org.bytedeco.cuda.cudnn.cudnnActivationStruct;

import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_RELU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_PROPAGATE_NAN;
import static org.bytedeco.cuda.global.cudnn.cudnnActivationBackward;
import static org.bytedeco.cuda.global.cudnn.cudnnActivationForward;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetActivationDescriptor;

/**
 * ReLU through cuDNN's legacy activation calls (the only class that makes them; the activation descriptor is
 * deprecated in cuDNN 9). Elementwise, so any dense array is described as 1 x 1 x 1 x n. NaN propagates, as
 * torch.relu. The backward gets only y (the SPI keeps the output, not the input); for ReLU x > 0 exactly when
 * y > 0, so y stands in for x.
 */
@SuppressWarnings("deprecation")
final class CudnnActivation {
    private final CudaContext ctx;

    CudnnActivation(CudaContext ctx) {
        this.ctx = ctx;
    }

    void reluForward(long x, long y, int n) {
        Handles h = ctx.handles();
        try (Relu relu = new Relu(); TensorDescriptor d = new TensorDescriptor(1, 1, 1, n)) {
            CudaCheck.cudnn(cudnnActivationForward(h.cudnn, relu.desc, ctx.one, d.desc, DevicePointer.of(x), ctx.zero, d.desc, DevicePointer.of(y)),
                    "cudnnActivationForward(relu, " + n + ")");
        }
    }

    /** dx = dy where y > 0, else 0. */
    void reluBackward(long dy, long y, long dx, int n) {
        Handles h = ctx.handles();
        try (Relu relu = new Relu(); TensorDescriptor d = new TensorDescriptor(1, 1, 1, n)) {
            CudaCheck.cudnn(cudnnActivationBackward(h.cudnn, relu.desc, ctx.one, d.desc, DevicePointer.of(y), d.desc, DevicePointer.of(dy),
                    d.desc, DevicePointer.of(y), ctx.zero, d.desc, DevicePointer.of(dx)), "cudnnActivationBackward(relu, " + n + ")");
        }
    }

    private static final class Relu implements AutoCloseable {
        final cudnnActivationStruct desc = new cudnnActivationStruct();

        Relu() {
            CudaCheck.cudnn(cudnnCreateActivationDescriptor(desc), "cudnnCreateActivationDescriptor");
            int rc = cudnnSetActivationDescriptor(desc, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0);
            if (rc != 0) {
                close();
                CudaCheck.cudnn(rc, "cudnnSetActivationDescriptor(relu)");
            }
        }

        @Override
        public void close() {
            if (!desc.isNull()) {
                CudaCheck.cudnn(cudnnDestroyActivationDescriptor(desc), "cudnnDestroyActivationDescriptor");
                desc.setNull();
            }
        }
    }
}
