package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Bf16;
import dev.graft.engine.backend.Conv2dSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.BiFunction;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.abs;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bf16 mixed precision on cpu, kernel by kernel at realistic sizes: convolution forward, backward-data and
 * backward-weights in bf16 as {@link Backend#precision} defines (ResNet's 64 -> 64 3x3 at 56x56, the 1x1 stride-2 downsample 64 -> 128, a ResNeXt-like grouped 3x3,
 * batch 2) and the matrix products of a DeiT-S MLP and attention (394 tokens = 2 images x 197, 384 -> 1536 linear
 * forward, backward-data and backward-weights; batched [12, 197, 64] scores and attention x values), inputs uniform
 * in [-1, 1].
 *
 * <p>Three checks per result, with tolerances computed per output element from the operands. Let S = sum_k |a_k||b_k|
 * (the F64 reference run on |inputs|), L the number of terms one output sums, u = 2^-24 (F32) and u16 = 2^-8 (the unit
 * roundoff of bfloat16, 8 significant bits, nearest-even).
 * <ol>
 *   <li>Against the bf16 oracle (the reference under {@link Precision#BF16}: both operands rounded to bf16, exact
 *       sums in F64): |cpu - oracle| <= gamma(L) * S * (1 + 2 u16 + u16^2). A product of two bf16 values is exact in
 *       F32 (8 + 8 significant bits), so the only error left is F32 accumulation of L terms whose absolute sum is at
 *       most S (1 + u16)^2 (Higham's bound, as {@link Oracle}). This is the sharp check: by estimate, a wrong rounding
 *       mode (truncation moves each operand by up to 2 u16 relative, biased) or unrounded operands exceed it at these
 *       sizes (e.g. L = 576: errors near 0.02 against a bound near 0.005); what is tested is that a missing input
 *       channel is caught (the planted-error test below) and, by check 3, that unrounded operands fail.</li>
 *   <li>Against the plain F32 oracle (the reference in FP32, F64 sums): |cpu - exact| <= (2 u16 + u16^2) S + the bound
 *       of 1. Each operand moves by at most u16 relative when rounded, so each product by at most (2 u16 + u16^2)
 *       of |a_k b_k|. (Note: 2^-8 S, one u16, would not be a bound: both operands round.)</li>
 *   <li>bf16 really ran: the largest |cpu - exact| of the bf16 run is over 16 times that of the same kernel run in FP32
 *       on cpu (bf16 rounding errors are about 2^16 times F32's), so an ignored mode cannot pass.</li>
 * </ol>
 */
class CpuBf16KernelsTest {
    private static final double U16 = Math.scalb(1.0, -8);
    private static final double PRODUCT = 2 * U16 + U16 * U16;

    /** One kernel call on either backend: inputs (host floats) in, result out. */
    private interface Kernel extends BiFunction<Backend, NDArray[], NDArray> {
    }

    @Test
    void bf16IsRefusedOnCpusWithoutNativeBf16() {
        assertNull(CpuBackend.bf16Refusal("avx512_core_bf16"));
        assertNull(CpuBackend.bf16Refusal("avx512_core_amx"));
        assertNull(CpuBackend.bf16Refusal("avx10_1_512_amx"));
        String why = CpuBackend.bf16Refusal("avx2_vnni");
        assertNotNull(why);
        assertTrue(why.contains("avx2_vnni") && why.contains("--precision fp32"), why);
        assertNotNull(CpuBackend.bf16Refusal("avx512_core"));
        assertNotNull(CpuBackend.bf16Refusal("avx512_core_vnni"));
    }

    @Test
    void int8IsNotATrainingPrecision() {
        Precision before = CPU.precision();
        var e = assertThrows(dev.graft.engine.DeviceException.class, () -> CPU.setPrecision(Precision.INT8));
        assertTrue(e.getMessage().contains("inference"), e.getMessage());
        assertEquals(before, CPU.precision(), "a refused precision changes nothing");
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one, 1.
        assertEquals(1f, Bf16.round(1f + 0x1p-8f));
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): up.
        assertEquals(1f + 0x1p-6f, Bf16.round(1f + 3 * 0x1p-8f));
        assertEquals(1f + 0x1p-7f, Bf16.round(1f + 0x1p-8f + 0x1p-20f), "just above the tie rounds up");
        assertEquals(-1f, Bf16.round(-1f - 0x1p-9f));
        assertTrue(Float.isNaN(Bf16.round(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.MAX_VALUE), "overflow of the rounding gives infinity");
    }

    /**
     * Every distinct ResNet-18/50 convolution at 224x224, batch 32, picks a bf16 kernel for forward and backward-data
     * and backward-weights under BF16 (its implementation name carries a bf16 or AMX ISA): fpmath_mode::bf16 where oneDNN honours it,
     * explicit bf16 operands where it does not; backward-weights too, with explicit bf16 operands. Only primitives are built.
     */
    @Test
    void resnetConvolutionsPickBf16Kernels() {
        CpuBackend cpu = (CpuBackend) CPU;
        org.junit.jupiter.api.Assumptions.assumeTrue(CpuBackend.bf16Refusal(Dnnl.isa()) == null, "no native bf16 on this CPU");
        List<String> f32 = new java.util.ArrayList<>();
        try (Backend.PrecisionScope p = cpu.usePrecision(Precision.BF16)) {
            for (dev.graft.engine.bench.ResNetConvShapes.Occurrence o : dev.graft.engine.bench.ResNetConvShapes.distinct()) {
                var c = o.conv();
                List<String> kernels = cpu.convolutionImplementations(c.x(32), c.w(), c.spec());
                if (!Dnnl.bf16Kernel(kernels.get(0)) || !Dnnl.bf16Kernel(kernels.get(1)) || !Dnnl.bf16Kernel(kernels.get(2))) {
                    f32.add(c + ": " + kernels);
                }
            }
        }
        assertTrue(f32.isEmpty(), "a pass without a bf16 kernel under bf16:\n"
                + String.join("\n", f32));
    }

    @Test
    void resnetThreeByThree() {
        convolution(Shape.of(2, 64, 56, 56), Shape.of(64, 64, 3, 3), Conv2dSpec.of(1, 1), 1);
    }

    @Test
    void downsampleOneByOneStrideTwo() {
        convolution(Shape.of(2, 64, 56, 56), Shape.of(128, 64, 1, 1), Conv2dSpec.of(2, 0), 2);
    }

    @Test
    void groupedThreeByThree() {
        convolution(Shape.of(2, 64, 28, 28), Shape.of(64, 2, 3, 3), new Conv2dSpec(1, 1, 1, 1, 1, 1, 32), 3);
    }

    /** Small shapes as a fuzzed network has them: a 3-channel 7x7 stem, 6 channels, a 3-class head. */
    @Test
    void smallNetworkShapes() {
        convolution(Shape.of(2, 3, 41, 37), Shape.of(6, 3, 7, 7), Conv2dSpec.of(2, 3), 20);
        convolution(Shape.of(2, 6, 11, 10), Shape.of(6, 6, 3, 3), Conv2dSpec.of(1, 1), 21);
        convolution(Shape.of(2, 6, 11, 10), Shape.of(12, 6, 3, 3), Conv2dSpec.of(2, 1), 22);
        check("head forward", List.of(Shape.of(2, 48), Shape.of(3, 48)), 48, (b, in) -> b.gemm(in[0], in[1], false, true), 23);
        check("head backward-data", List.of(Shape.of(2, 3), Shape.of(3, 48)), 3, (b, in) -> b.gemm(in[0], in[1], false, false), 24);
        check("head backward-weights", List.of(Shape.of(2, 3), Shape.of(2, 48)), 2, (b, in) -> b.gemm(in[0], in[1], true, false), 25);
    }

    /** A fuzzed Inception block's shapes: 3x3 stem, 1x1, 1x7 and 7x1 on a 5x15 map, few channels. */
    @Test
    void smallInceptionShapes() {
        convolution(Shape.of(3, 3, 10, 30), Shape.of(3, 3, 3, 3), Conv2dSpec.of(1, 1), 30);
        convolution(Shape.of(3, 3, 5, 15), Shape.of(2, 3, 1, 1), Conv2dSpec.of(1, 0), 31);
        convolution(Shape.of(3, 2, 5, 15), Shape.of(2, 2, 1, 7), new Conv2dSpec(1, 1, 0, 3, 1, 1, 1), 32);
        convolution(Shape.of(3, 2, 5, 15), Shape.of(4, 2, 7, 1), new Conv2dSpec(1, 1, 3, 0, 1, 1, 1), 33);
    }

    @Test
    void deitMlpLinear() {
        int t = 394, c = 384, h = 1536;
        // forward x [T, C] @ w[H, C]^T, backward-data dy [T, H] @ w [H, C], backward-weights dy^T [H, T] @ x [T, C].
        check("linear forward", List.of(Shape.of(t, c), Shape.of(h, c)), c, (b, in) -> b.gemm(in[0], in[1], false, true), 4);
        check("linear backward-data", List.of(Shape.of(t, h), Shape.of(h, c)), h, (b, in) -> b.gemm(in[0], in[1], false, false), 5);
        check("linear backward-weights", List.of(Shape.of(t, h), Shape.of(t, c)), t, (b, in) -> b.gemm(in[0], in[1], true, false), 6);
    }

    /**
     * The token linear with its bias and the output projection with its residual (Backend.linear / linearAdd): the
     * cpu's fused matmuls are fp32 kernels, so under bf16 the cpu backend must route them to bf16 products; the
     * reference computes them from bf16-rounded x and w. One output sums K products plus the bias (and residual):
     * terms K + 2. Check 3 fails if the fp32 fused kernel ran under bf16.
     */
    @Test
    void deitTokenLinearWithBiasAndResidual() {
        int t = 394, c = 384, h = 1536;
        check("token linear + bias", List.of(Shape.of(t, c), Shape.of(h, c), Shape.of(h)), c + 2,
                (b, in) -> b.linear(in[0], in[1], in[2]), 9);
        check("projection + bias + residual", List.of(Shape.of(t, h), Shape.of(c, h), Shape.of(c), Shape.of(t, c)), h + 2,
                (b, in) -> b.linearAdd(in[0], in[1], in[2], in[3]), 10);
    }

    @Test
    void deitAttentionBatchedMatmul() {
        int bh = 12, t = 197, d = 64;
        check("attention scores q k^T", List.of(Shape.of(bh, t, d), Shape.of(bh, t, d)), d,
                (b, in) -> b.batchedGemm(in[0], in[1], false, true), 7);
        check("attention x values", List.of(Shape.of(bh, t, t), Shape.of(bh, t, d)), t,
                (b, in) -> b.batchedGemm(in[0], in[1], false, false), 8);
    }

    /**
     * Planted error: the forward pass with input channel 0 left out (its weights zeroed on cpu only). Check 1 must
     * reject it: one channel is 9 of the 576 terms, about 0.4 per output, against a tolerance near 0.005.
     */
    @Test
    void theBf16CheckCatchesAMissingChannel() {
        Shape xs = Shape.of(1, 64, 20, 20);
        Shape ws = Shape.of(64, 64, 3, 3);
        Conv2dSpec spec = Conv2dSpec.of(1, 1);
        float[] x = random(xs.numel(), 11);
        float[] w = random(ws.numel(), 12);
        float[] broken = w.clone();
        for (int k = 0; k < 64; k++) {
            for (int i = 0; i < 9; i++) {
                broken[k * 64 * 9 + i] = 0;
            }
        }
        Kernel fwd = (b, in) -> b.conv2d(in[0], in[1], null, spec);
        AssertionError e = assertThrows(AssertionError.class, () -> compare("forward, channel 0 missing",
                List.of(x, w), List.of(x, broken), List.of(xs, ws), 64 * 9, fwd));
        assertTrue(e.getMessage().contains("bf16 oracle"), e.getMessage());
    }

    private static void convolution(Shape xs, Shape ws, Conv2dSpec spec, long seed) {
        Shape ys = Shape.of(xs.dim(0), ws.dim(0), Conv2dSpec.outputSize(xs.dim(2), ws.dim(2), spec.strideH(), spec.padH(), 1),
                Conv2dSpec.outputSize(xs.dim(3), ws.dim(3), spec.strideW(), spec.padW(), 1));
        int taps = ws.dim(2) * ws.dim(3);
        check("forward " + xs + " " + ws + " " + spec, List.of(xs, ws), ws.dim(1) * taps,
                (b, in) -> b.conv2d(in[0], in[1], null, spec), seed * 10);
        check("backward-data " + xs + " " + ws + " " + spec, List.of(ys, ws), ws.dim(0) / spec.groups() * taps,
                (b, in) -> b.conv2dBackwardData(in[0], in[1], xs, spec), seed * 10 + 1);
        // Weight gradients: dy and x rounded to bf16, F32 accumulation; one gradient element sums N*P*Q products.
        check("backward-weights " + xs + " " + ws + " " + spec, List.of(ys, xs), (long) ys.dim(0) * ys.dim(2) * ys.dim(3),
                (b, in) -> b.conv2dBackwardWeights(in[0], in[1], ws, spec), seed * 10 + 2);
    }

    private static void check(String what, List<Shape> shapes, long terms, Kernel kernel, long seed) {
        List<float[]> in = shapes.stream().map(s -> random(s.numel(), seed * 31 + s.numel())).toList();
        compare(what, in, in, shapes, terms, kernel);
    }

    /** Runs {@code kernel} on cpu (inputs {@code cpuIn}) and the oracles (inputs {@code refIn}) and applies checks 1-3. */
    private static void compare(String what, List<float[]> refIn, List<float[]> cpuIn, List<Shape> shapes, long terms,
                                Kernel kernel) {
        try (Scope scope = Scope.open()) {
            double[] bf16;
            double[] fp32;
            try (Backend.PrecisionScope p = CPU.usePrecision(Precision.BF16)) {
                bf16 = kernel.apply(CPU, inputs(cpuIn, shapes, false)).toDoubleArray();
            }
            try (Backend.PrecisionScope p = CPU.usePrecision(Precision.FP32)) {
                fp32 = kernel.apply(CPU, inputs(cpuIn, shapes, false)).toDoubleArray();
            }
            double[] oracle;
            double[] exact;
            double[] sums;
            try (Backend.PrecisionScope p = REF.usePrecision(Precision.BF16)) {
                oracle = kernel.apply(REF, inputs(refIn, shapes, true)).toDoubleArray();
            }
            try (Backend.PrecisionScope p = REF.usePrecision(Precision.FP32)) {
                exact = kernel.apply(REF, inputs(refIn, shapes, true)).toDoubleArray();
                sums = kernel.apply(REF, inputs(refIn.stream().map(Oracle::abs).toList(), shapes, true)).toDoubleArray();
            }
            double g = Oracle.gamma(terms);
            double worstBf16 = 0;
            double worstFp32 = 0;
            for (int i = 0; i < oracle.length; i++) {
                double accumulation = g * sums[i] * (1 + PRODUCT);
                double d = Math.abs(bf16[i] - oracle[i]);
                if (!(d <= accumulation)) {
                    throw new AssertionError(what + ": element " + i + " is " + bf16[i] + ", the bf16 oracle " + oracle[i]
                            + " (difference " + d + ", F32-accumulation tolerance " + accumulation + ")");
                }
                double e = Math.abs(bf16[i] - exact[i]);
                double bound = PRODUCT * sums[i] + accumulation;
                if (!(e <= bound)) {
                    throw new AssertionError(what + ": element " + i + " is " + bf16[i] + ", the fp32 oracle " + exact[i]
                            + " (difference " + e + ", bf16 bound " + bound + ")");
                }
                worstBf16 = Math.max(worstBf16, e);
                worstFp32 = Math.max(worstFp32, Math.abs(fp32[i] - exact[i]));
            }
            if (!(worstBf16 > 16 * worstFp32)) {
                throw new AssertionError(what + ": the bf16 run is at most " + worstBf16 + " from exact, the fp32 run "
                        + worstFp32 + ": bf16 arithmetic did not run");
            }
        }
    }

    private static NDArray[] inputs(List<float[]> data, List<Shape> shapes, boolean reference) {
        NDArray[] a = new NDArray[data.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = reference ? ref64(data.get(i), shapes.get(i)) : Oracle.cpu(data.get(i), shapes.get(i), false);
        }
        return a;
    }
}
