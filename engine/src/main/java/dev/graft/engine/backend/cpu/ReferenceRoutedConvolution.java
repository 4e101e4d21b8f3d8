package dev.graft.engine.backend.cpu;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Bf16;
import dev.graft.engine.backend.Conv2dSpec;

/**
 * Convolutions oneDNN 3.11 gets wrong, computed exactly on the reference backend and copied back. No ResNet has
 * these shapes, so speed does not matter here; PyTorch accepts them, so we must too.
 * <ul>
 *   <li>Some output row or column reads nothing but padding (padding wider than the dilated kernel reaches, e.g.
 *       input width 1, kernel 1, padding 1): the brgemm kernels dereference null and take the JVM down, in every
 *       pass (found by BadInputProperties: x [2,6,3,1], w [6,3,2,1], stride (1,2), padding 1, dilation 2,
 *       groups 2).</li>
 *   <li>One input channel, no groups, stride 1 along H and more than 1 along W: {@code brg_conv_fwd} returns wrong
 *       values in the forward pass (found by CpuFusedConvolutionProperties: x [1,1,2,1], w [1,1,2,2], stride
 *       (1,2), padding 1 gives 0.330 where 0.602 is right). A sweep of every shape with H, W up to 4, kernels up to
 *       3, strides up to 3, padding up to 2 and dilation up to 2 found wrong forward values in 448 of 3,362
 *       such shapes and in no other; backward-data and backward-weights were right everywhere, and depthwise
 *       convolutions (one channel per group) too.</li>
 *   <li>Backward-data of a strided convolution whose weights hold a NaN or an infinity: oneDNN multiplies the weights
 *       by zeros standing between the strided output positions, and 0 * inf is NaN, where PyTorch (and the reference)
 *       add no such term (found by NonFiniteProperties: x [1,3,7,5], w [1,3,1,2] with an inf, stride (1,2): 14 of 105
 *       input-gradient elements NaN where torch 1.13 has finite values, 0 for the inputs no output reads). Only a
 *       model whose weights are already broken gets here, so speed matters little.</li>
 * </ul>
 */
final class ReferenceRoutedConvolution {
    private ReferenceRoutedConvolution() {
    }

    /** Whether the forward pass (plain or fused) must avoid oneDNN. */
    static boolean routesForward(Shape x, Shape w, Conv2dSpec s) {
        return readsOnlyPadding(x, w, s) || (x.dim(1) == 1 && s.groups() == 1 && s.strideH() == 1 && s.strideW() > 1);
    }

    /** Whether backward-data of a convolution whose weights are not all finite must avoid oneDNN. */
    static boolean routesBackwardDataOfNonFiniteWeights(Conv2dSpec s) {
        return s.strideH() > 1 || s.strideW() > 1;
    }

    /** Whether backward-data and backward-weights must avoid oneDNN. */
    static boolean routesBackward(Shape x, Shape w, Conv2dSpec s) {
        return readsOnlyPadding(x, w, s);
    }

    /** True when an output position along H or W has its whole kernel window in the padding. */
    private static boolean readsOnlyPadding(Shape x, Shape w, Conv2dSpec s) {
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
        boolean bf16 = cpu.precision() == Precision.BF16;
        NDArray y = ref.conv2d(toRef(ref, x, bf16), toRef(ref, w, bf16), bias == null ? null : toRef(ref, bias, false), spec);
        return back(cpu, y);
    }

    static NDArray backwardData(Backend cpu, NDArray dy, NDArray w, Shape xShape, Conv2dSpec spec) {
        Backend ref = Backends.get(Device.REFERENCE);
        boolean bf16 = cpu.precision() == Precision.BF16;
        return back(cpu, ref.conv2dBackwardData(toRef(ref, dy, bf16), toRef(ref, w, bf16), xShape, spec));
    }

    static NDArray backwardWeights(Backend cpu, NDArray dy, NDArray x, Shape wShape, Conv2dSpec spec) {
        Backend ref = Backends.get(Device.REFERENCE);
        return back(cpu, ref.conv2dBackwardWeights(toRef(ref, dy, false), toRef(ref, x, false), wShape, spec)); // F32 always
    }

    /**
     * {@code a} copied to the reference backend, its values rounded to bfloat16 when the cpu backend computes in bf16
     * (so a routed shape gets the products the oneDNN kernels would form; the reference backend's own precision is
     * left alone: it is shared, and its FP32 sums of the rounded operands are the F32 accumulation bf16 asks for).
     */
    private static NDArray toRef(Backend ref, NDArray a, boolean bf16) {
        float[] v = a.toFloatArray();
        if (bf16) {
            for (int i = 0; i < v.length; i++) {
                v[i] = Bf16.round(v[i]);
            }
        }
        return ref.fromHost(v, a.shape());
    }

    private static NDArray back(Backend cpu, NDArray r) {
        NDArray out = cpu.fromHost(r.toFloatArray(), r.shape());
        r.buffer().close();
        return out;
    }
}
