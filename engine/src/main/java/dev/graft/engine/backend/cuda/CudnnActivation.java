package dev.graft.engine.backend.cuda;

import org.bytedeco.cuda.cudnn.cudnnActivationStruct;

import static org.bytedeco.cuda.global.cudnn.CUDNN_ACTIVATION_RELU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_PROPAGATE_NAN;
import static org.bytedeco.cuda.global.cudnn.cudnnActivationForward;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyActivationDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetActivationDescriptor;

/**
 * ReLU's forward through cuDNN's legacy activation call (the only class that makes it; the activation descriptor is
 * deprecated in cuDNN 9). Elementwise, so any dense array is described as 1 x 1 x 1 x n. NaN propagates, as
 * torch.relu. The backward is an NVRTC kernel ({@code relu_backward_f32}) that states torch's rule itself: cuDNN
 * promises nothing for a NaN y, and a {@code y > 0} mask (the obvious reading of its ReLU backward) drops the gradient
 * there, where torch's threshold_backward passes it.
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
