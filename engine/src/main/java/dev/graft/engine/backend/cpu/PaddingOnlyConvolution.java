package dev.graft.engine.backend.cpu;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Conv2dSpec;

/**
 * Convolutions in which some output row or column reads nothing but padding (padding wider than the dilated
 * kernel reaches, e.g. input width 1, kernel 1, padding 1). oneDNN 3.11's brgemm kernels dereference null in
 * that case and take the JVM down (found by BadInputProperties: x [2,6,3,1], w [6,3,2,1], stride (1,2),
 * padding 1, dilation 2, groups 2). PyTorch accepts such calls, so we compute them exactly on the reference
 * backend and copy back. No real network has this shape, so speed does not matter here.
 */
final class PaddingOnlyConvolution {
    private PaddingOnlyConvolution() {
    }

    /** True when an output position along H or W has its whole kernel window in the padding. */
    static boolean applies(Shape x, Shape w, Conv2dSpec s) {
        return readsOnlyPadding(x.dim(2), w.dim(2), s.strideH(), s.padH(), s.dilationH())
                || readsOnlyPadding(x.dim(3), w.dim(3), s.strideW(), s.padW(), s.dilationW());
    }

    private static boolean readsOnlyPadding(int in, int k, int stride, int pad, int dilation) {
        int out = Conv2dSpec.outputSize(in, k, stride, pad, dilation);
        // Only the first and last outputs can miss the input entirely.
        long firstHi = -(long) pad + (long) (k - 1) * dilation;
        long lastLo = (long) (out - 1) * stride - pad;
        return firstHi < 0 || lastLo >= in;
    }

    static NDArray forward(Backend cpu, NDArray x, NDArray w, NDArray bias, Conv2dSpec spec) {
        Backend ref = Backends.get(Device.REFERENCE);
        NDArray y = ref.conv2d(toRef(ref, x), toRef(ref, w), bias == null ? null : toRef(ref, bias), spec);
        return back(cpu, y);
    }

    static NDArray backwardData(Backend cpu, NDArray dy, NDArray w, Shape xShape, Conv2dSpec spec) {
        Backend ref = Backends.get(Device.REFERENCE);
        return back(cpu, ref.conv2dBackwardData(toRef(ref, dy), toRef(ref, w), xShape, spec));
    }

    static NDArray backwardWeights(Backend cpu, NDArray dy, NDArray x, Shape wShape, Conv2dSpec spec) {
        Backend ref = Backends.get(Device.REFERENCE);
        return back(cpu, ref.conv2dBackwardWeights(toRef(ref, dy), toRef(ref, x), wShape, spec));
    }

    private static NDArray toRef(Backend ref, NDArray a) {
        return ref.fromHost(a.toFloatArray(), a.shape());
    }

    private static NDArray back(Backend cpu, NDArray r) {
        NDArray out = cpu.fromHost(r.toFloatArray(), r.shape());
        r.buffer().close();
        return out;
    }
}
