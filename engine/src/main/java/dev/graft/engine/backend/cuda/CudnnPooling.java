package dev.graft.engine.backend.cuda;

import dev.graft.engine.Shape;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import org.bytedeco.cuda.cudnn.cudnnPoolingStruct;

import static org.bytedeco.cuda.global.cudnn.CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
import static org.bytedeco.cuda.global.cudnn.CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING;
import static org.bytedeco.cuda.global.cudnn.CUDNN_POOLING_MAX_DETERMINISTIC;
import static org.bytedeco.cuda.global.cudnn.CUDNN_PROPAGATE_NAN;
import static org.bytedeco.cuda.global.cudnn.cudnnCreatePoolingDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyPoolingDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnPoolingBackward;
import static org.bytedeco.cuda.global.cudnn.cudnnPoolingForward;
import static org.bytedeco.cuda.global.cudnn.cudnnSetPooling2dDescriptor;

/**
 * Max pooling and global average pooling through cuDNN's legacy pooling calls (the only class that makes them).
 * NCHW. Max pooling uses the deterministic mode and propagates NaN, as torch's max_pool2d; its backward needs
 * x, y and dy and recomputes the argmax (no workspace). Padded cells never win (they are outside the input).
 * Global average pooling is an average pool whose window is the whole plane, no padding. Average pooling with
 * padding maps torch's count_include_pad True / False onto CUDNN_POOLING_AVERAGE_COUNT_INCLUDE / EXCLUDE_PADDING,
 * whose divisors are torch's when ceil_mode is off.
 *
 * <p>Ties: the SPI routes a window's gradient to its FIRST maximum (PyTorch). cuDNN documents only that one
 * maximum receives it; the gpu test {@code maxPoolTiesGoToTheFirstMaximum} pins which on a real device.
 */
@SuppressWarnings("deprecation")
final class CudnnPooling {
    private final CudaContext ctx;

    CudnnPooling(CudaContext ctx) {
        this.ctx = ctx;
    }

    void maxForward(long x, Shape xs, long y, Shape ys, Pool2dSpec p) {
        Handles h = ctx.handles();
        try (Window w = new Window(CUDNN_POOLING_MAX_DETERMINISTIC, p.kernelH(), p.kernelW(), p.padH(), p.padW(), p.strideH(), p.strideW());
             TensorDescriptor xd = TensorDescriptor.nchw(xs); TensorDescriptor yd = TensorDescriptor.nchw(ys)) {
            CudaCheck.cudnn(cudnnPoolingForward(h.cudnn, w.desc, ctx.one, xd.desc, DevicePointer.of(x), ctx.zero, yd.desc, DevicePointer.of(y)),
                    "cudnnPoolingForward(max, " + xs + ", " + p + ")");
        }
    }

    void maxBackward(long dy, long y, Shape ys, long x, Shape xs, long dx, Pool2dSpec p) {
        Handles h = ctx.handles();
        try (Window w = new Window(CUDNN_POOLING_MAX_DETERMINISTIC, p.kernelH(), p.kernelW(), p.padH(), p.padW(), p.strideH(), p.strideW());
             TensorDescriptor xd = TensorDescriptor.nchw(xs); TensorDescriptor yd = TensorDescriptor.nchw(ys)) {
            CudaCheck.cudnn(cudnnPoolingBackward(h.cudnn, w.desc, ctx.one, yd.desc, DevicePointer.of(y), yd.desc, DevicePointer.of(dy),
                    xd.desc, DevicePointer.of(x), ctx.zero, xd.desc, DevicePointer.of(dx)), "cudnnPoolingBackward(max, " + xs + ", " + p + ")");
        }
    }

    void avgForward(long x, Shape xs, long y, Shape ys, AvgPool2dSpec p) {
        Handles h = ctx.handles();
        try (Window w = new Window(averageMode(p), p.kernelH(), p.kernelW(), p.padH(), p.padW(), p.strideH(), p.strideW());
             TensorDescriptor xd = TensorDescriptor.nchw(xs); TensorDescriptor yd = TensorDescriptor.nchw(ys)) {
            CudaCheck.cudnn(cudnnPoolingForward(h.cudnn, w.desc, ctx.one, xd.desc, DevicePointer.of(x), ctx.zero, yd.desc, DevicePointer.of(y)),
                    "cudnnPoolingForward(average, " + xs + ", " + p + ")");
        }
    }

    /**
     * dx from dy alone. cuDNN's backward signature also takes the forward's y and x, which average modes do not
     * read (their gradient depends only on the window geometry), so dy and dx stand in for them; the gpu test
     * {@code avgPoolWithPaddingMatchesTheReference} checks the result on a device.
     */
    void avgBackward(long dy, Shape ys, long dx, Shape xs, AvgPool2dSpec p) {
        Handles h = ctx.handles();
        try (Window w = new Window(averageMode(p), p.kernelH(), p.kernelW(), p.padH(), p.padW(), p.strideH(), p.strideW());
             TensorDescriptor xd = TensorDescriptor.nchw(xs); TensorDescriptor yd = TensorDescriptor.nchw(ys)) {
            CudaCheck.cudnn(cudnnPoolingBackward(h.cudnn, w.desc, ctx.one, yd.desc, DevicePointer.of(dy), yd.desc, DevicePointer.of(dy),
                    xd.desc, DevicePointer.of(dx), ctx.zero, xd.desc, DevicePointer.of(dx)), "cudnnPoolingBackward(average, " + xs + ", " + p + ")");
        }
    }

    private static int averageMode(AvgPool2dSpec p) {
        return p.countIncludePad() ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    }

    /** y [N,C,1,1] = mean of x over each H x W plane. */
    void globalAverage(long x, Shape xs, long y) {
        Handles h = ctx.handles();
        int hh = xs.dim(2);
        int ww = xs.dim(3);
        try (Window w = new Window(CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, hh, ww, 0, 0, hh, ww);
             TensorDescriptor xd = TensorDescriptor.nchw(xs); TensorDescriptor yd = new TensorDescriptor(xs.dim(0), xs.dim(1), 1, 1)) {
            CudaCheck.cudnn(cudnnPoolingForward(h.cudnn, w.desc, ctx.one, xd.desc, DevicePointer.of(x), ctx.zero, yd.desc, DevicePointer.of(y)),
                    "cudnnPoolingForward(average, " + xs + ")");
        }
    }

    /** A pooling descriptor, destroyed on close. */
    private static final class Window implements AutoCloseable {
        final cudnnPoolingStruct desc = new cudnnPoolingStruct();

        Window(int mode, int kh, int kw, int ph, int pw, int sh, int sw) {
            CudaCheck.cudnn(cudnnCreatePoolingDescriptor(desc), "cudnnCreatePoolingDescriptor");
            int rc = cudnnSetPooling2dDescriptor(desc, mode, CUDNN_PROPAGATE_NAN, kh, kw, ph, pw, sh, sw);
            if (rc != 0) {
                close();
                CudaCheck.cudnn(rc, "cudnnSetPooling2dDescriptor(" + kh + "x" + kw + ", pad " + ph + "," + pw + ", stride " + sh + "," + sw + ")");
            }
        }

        @Override
        public void close() {
            if (!desc.isNull()) {
                CudaCheck.cudnn(cudnnDestroyPoolingDescriptor(desc), "cudnnDestroyPoolingDescriptor");
                desc.setNull();
            }
        }
    }
}
