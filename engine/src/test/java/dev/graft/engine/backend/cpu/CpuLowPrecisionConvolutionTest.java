package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cpu backend's bf16 and int8 inference convolutions against plain-Java oracles at ResNet-18 layer shapes.
 *
 * <p>int8: the oracle quantizes x itself ({@code rint(x / s)}, saturated to u8 or s8), sums the integer products
 * exactly in a long, and dequantizes in double. The inputs are drawn at least 0.1 quantization steps away from a
 * rounding tie, so oneDNN's quantization (which may multiply by 1/s instead of dividing) gives the same integers, and
 * the int32 sums must be identical. What remains is the fp32 epilogue ({@code acc * s_x * s_w[k] + b + r}, a few
 * roundings of relative size 2^-24), so the tolerance is one unit of the output's quantization step
 * {@code s_x * s_w[k]} plus 2^-20 of the magnitudes involved: an error in even one integer product would exceed it.
 *
 * <p>bf16: rounding x and w to bfloat16 (8 significant bits, unit roundoff u = 2^-8) changes each product by at most
 * {@code (2u + u^2) |x w|}, and the fp32 accumulation adds at most {@code gamma_n} (n 2^-24) of {@code sum |x w|}: the
 * bound per output is {@code (2^-7 + 2^-16 + (n + 3) 2^-24) sum |x||w| + 2^-23 (|b| + |r|)} against an oracle in
 * double. That the bf16 kernel really ran is checked by its error being many times the fp32 kernel's.
 */
class CpuLowPrecisionConvolutionTest {
    /** ResNet-18 shapes: layer1 3x3, layer2's strided 3x3 and 1x1 downsample, layer4 3x3. */
    private static final int[][] SHAPES = { // c, h, k, r, stride, pad
            {64, 56, 64, 3, 1, 1}, {64, 56, 128, 3, 2, 1}, {64, 56, 128, 1, 2, 0}, {512, 7, 512, 3, 1, 1}};

    @Test
    void int8MatchesIntegerOracle() {
        for (int[] s : SHAPES) {
            for (int batch : new int[] {1, 2}) {
                check(s, batch, true, false, false, 11);
                check(s, batch, false, true, true, 12);
            }
        }
        check(SHAPES[0], 1, true, true, true, 13);
        CpuBackend cpuBackend = (CpuBackend) CPU;
        for (int[] sh : SHAPES) {
            for (boolean unsigned : new boolean[] {true, false}) {
                String kernel = cpuBackend.lowPrecisionConvolutionImplementation(Precision.INT8, unsigned,
                        Shape.of(1, sh[0], sh[1], sh[1]), Shape.of(sh[2], sh[0], sh[3], sh[3]), Conv2dSpec.of(sh[4], sh[5]), true, true);
                assertFalse(kernel.matches("(?s).*(^|[^a-z])ref([^a-z]|$).*"), "int8 conv " + java.util.Arrays.toString(sh)
                        + " runs oneDNN's reference kernel " + kernel);
                System.out.println("int8 " + (unsigned ? "u8" : "s8") + " conv " + java.util.Arrays.toString(sh) + ": " + kernel);
            }
        }
    }

    /**
     * The bound an int8 convolution records for its output (so the next layer skips a scan, and a relu post-op is known
     * not to meet a NaN) must hold: here the worst case, every quantized input saturated (u8 255; s8 -128 against weights
     * -127), so the int32 sums reach {@code qmax * sum |wq|} exactly, plus a positive bias and residual. The recorded
     * bound must not be below the largest |y|, and may exceed it only by its stated rounding slack and the bias's and
     * residual's own (scanned, so coarse) bounds.
     */
    @Test
    void int8RecordsASoundBound() {
        int c = 64, h = 8, k = 16;
        for (boolean unsigned : new boolean[] {true, false}) {
            float xs = 1f; // the convolution's part (~2e7) dominates the bias's and residual's measured bounds (2^16 each)
            float[] x = new float[c * h * h];
            java.util.Arrays.fill(x, (unsigned ? 1000 : -1000) * xs);
            float[] wq = new float[k * c * 9];
            java.util.Arrays.fill(wq, unsigned ? 127 : -127);
            float[] ws = new float[k];
            java.util.Arrays.fill(ws, 1f);
            float[] b = new float[k];
            java.util.Arrays.fill(b, 0.5f);
            float[] res = new float[k * h * h];
            java.util.Arrays.fill(res, 2f);
            try (Scope scope = Scope.open()) {
                NDArray y = CPU.conv2dInferenceInt8(cpu(x, Shape.of(1, c, h, h), true), xs, unsigned, cpu(wq, Shape.of(k, c, 3, 3)),
                        ws, cpu(b, Shape.of(k)), cpu(res, Shape.of(1, k, h, h), true), true, Conv2dSpec.of(1, 1), null);
                float[] got = y.toFloatArray();
                double max = assertBoundHolds(y, got, "saturated int8 " + (unsigned ? "u8" : "s8"));
                double exact = (unsigned ? 255.0 : 128.0) * 127 * c * 9 * (double) xs * ws[0] + 0.5 + 2; // an interior output
                assertTrue(Math.abs(max - exact) <= 1e-5 * exact, "largest output " + max + ", exact " + exact);
                double bound = ((CpuBackend) CPU).bounds().recorded(y);
                // |b| and |r| enter with their scanned bounds, 2^16 each (CpuReduction.magnitudeBound)
                double stated = ((unsigned ? 255.0 : 128.0) * 127 * c * 9 + 2 * 0x1p16) * (1 + (c * 9 + 3) * 0x1p-22);
                assertTrue(bound <= stated, "bound " + bound + " looser than stated " + stated);
            }
        }
    }

    /** The output's recorded bound is finite and at least every |y|; returns the largest |y|. */
    private static double assertBoundHolds(NDArray y, float[] got, String what) {
        double bound = ((CpuBackend) CPU).bounds().recorded(y);
        double max = 0;
        for (float v : got) {
            max = Math.max(max, Math.abs(v));
        }
        assertTrue(bound < Double.POSITIVE_INFINITY, what + ": no bound recorded for the output");
        assertTrue(max <= bound, what + ": |y| reaches " + max + " above its recorded bound " + bound);
        return max;
    }

    private void check(int[] sh, int n, boolean unsigned, boolean residual, boolean relu, long seed) {
        int c = sh[0], h = sh[1], k = sh[2], r = sh[3], stride = sh[4], pad = sh[5];
        Conv2dSpec spec = Conv2dSpec.of(stride, pad);
        int p = Conv2dSpec.outputSize(h, r, stride, pad, 1);
        Random rnd = new Random(seed);
        float xs = 0.0173f;
        float[] x = new float[n * c * h * h];
        for (int i = 0; i < x.length; i++) {
            // an integer level plus 0.1..0.4 or 0.6..0.9 of a step: never within 0.1 step of a tie; 1% out of range
            int lo = unsigned ? -5 : -140;
            int level = rnd.nextInt(100) == 0 ? (rnd.nextBoolean() ? 300 : -300) : lo + rnd.nextInt(unsigned ? 265 : 275);
            double frac = 0.1 + 0.3 * rnd.nextDouble() + (rnd.nextBoolean() ? 0.5 : 0);
            x[i] = (float) ((level + frac) * xs);
        }
        float[] wq = new float[k * c * r * r];
        for (int i = 0; i < wq.length; i++) {
            wq[i] = rnd.nextInt(255) - 127;
        }
        float[] ws = new float[k];
        float[] b = new float[k];
        for (int o = 0; o < k; o++) {
            ws[o] = (float) (1e-4 * (1 + rnd.nextDouble()));
            b[o] = rnd.nextFloat() - 0.5f;
        }
        float[] res = residual ? random(n * k * p * p, seed + 1) : null;
        float[] got;
        try (Scope scope = Scope.open()) {
            NDArray y = CPU.conv2dInferenceInt8(cpu(x, Shape.of(n, c, h, h), true), xs, unsigned, cpu(wq, Shape.of(k, c, r, r)),
                    ws, cpu(b, Shape.of(k)), residual ? cpu(res, Shape.of(n, k, p, p), true) : null, relu, spec, null);
            got = y.toFloatArray();
            assertBoundHolds(y, got, "int8 " + java.util.Arrays.toString(sh));
        }
        int qmin = unsigned ? 0 : -128;
        int qmax = unsigned ? 255 : 127;
        int[] qx = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            qx[i] = (int) Math.max(qmin, Math.min(qmax, Math.rint((double) x[i] / xs)));
        }
        double worst = 0;
        String where = "";
        for (int img = 0; img < n; img++) {
            for (int o = 0; o < k; o++) {
                for (int oy = 0; oy < p; oy++) {
                    for (int ox = 0; ox < p; ox++) {
                        long acc = 0;
                        for (int ci = 0; ci < c; ci++) {
                            for (int ky = 0; ky < r; ky++) {
                                int iy = oy * stride - pad + ky;
                                if (iy < 0 || iy >= h) {
                                    continue;
                                }
                                for (int kx = 0; kx < r; kx++) {
                                    int ix = ox * stride - pad + kx;
                                    if (ix >= 0 && ix < h) {
                                        acc += (long) qx[((img * c + ci) * h + iy) * h + ix] * (int) wq[((o * c + ci) * r + ky) * r + kx];
                                    }
                                }
                            }
                        }
                        int at = ((img * k + o) * p + oy) * p + ox;
                        double step = (double) xs * ws[o];
                        double rv = residual ? res[at] : 0;
                        double want = acc * step + b[o] + rv;
                        if (relu) {
                            want = Math.max(0, want);
                        }
                        double tol = step + 0x1p-20 * (Math.abs(acc * step) + Math.abs(b[o]) + Math.abs(rv));
                        double err = Math.abs(got[at] - want) / tol;
                        if (!(err <= worst)) {
                            worst = err;
                            where = "output " + at + ": got " + got[at] + ", oracle " + want;
                        }
                    }
                }
            }
        }
        assertTrue(worst <= 1, "int8 " + (unsigned ? "u8" : "s8") + " conv " + java.util.Arrays.toString(sh) + " batch " + n
                + (residual ? " + residual" : "") + (relu ? " + relu" : "") + ": error " + worst + " x tolerance at " + where);
    }

    @Test
    void bf16WithinBoundAndReallyBf16() {
        CpuBackend cpuBackend = (CpuBackend) CPU;
        Assumptions.assumeTrue(cpuBackend.supportsInference(Precision.BF16), cpuBackend.precisionSupport(Precision.BF16));
        for (int[] sh : SHAPES) {
            int c = sh[0], h = sh[1], k = sh[2], r = sh[3], stride = sh[4], pad = sh[5];
            int n = 1;
            Conv2dSpec spec = Conv2dSpec.of(stride, pad);
            int p = Conv2dSpec.outputSize(h, r, stride, pad, 1);
            float[] x = random(n * c * h * h, 21);
            float[] w = random(k * c * r * r, 22);
            float[] b = random(k, 23);
            float[] res = random(n * k * p * p, 24);
            float[] bf;
            float[] fp;
            try (Scope scope = Scope.open()) {
                NDArray xa = cpu(x, Shape.of(n, c, h, h), true);
                NDArray wa = cpu(w, Shape.of(k, c, r, r));
                NDArray ba = cpu(b, Shape.of(k));
                NDArray ra = cpu(res, Shape.of(n, k, p, p), true);
                bf = CPU.conv2dInferenceBf16(xa, wa, ba, ra, false, spec, null).toFloatArray();
                fp = CPU.conv2dInference(xa, wa, ba, ra, false, spec, null).toFloatArray();
            }
            double worstBound = 0;
            double bfErr = 0;
            double fpErr = 0;
            long terms = (long) c * r * r;
            for (int o = 0; o < k; o++) {
                for (int oy = 0; oy < p; oy++) {
                    for (int ox = 0; ox < p; ox++) {
                        double sum = 0;
                        double abs = 0;
                        for (int ci = 0; ci < c; ci++) {
                            for (int ky = 0; ky < r; ky++) {
                                int iy = oy * stride - pad + ky;
                                for (int kx = 0; kx < r && iy >= 0 && iy < h; kx++) {
                                    int ix = ox * stride - pad + kx;
                                    if (ix >= 0 && ix < h) {
                                        double prod = (double) x[(ci * h + iy) * h + ix] * w[((o * c + ci) * r + ky) * r + kx];
                                        sum += prod;
                                        abs += Math.abs(prod);
                                    }
                                }
                            }
                        }
                        int at = (o * p + oy) * p + ox;
                        double want = sum + b[o] + res[at];
                        double bound = (0x1p-7 + 0x1p-16 + (terms + 3) * 0x1p-24) * abs
                                + 0x1p-23 * (Math.abs(b[o]) + Math.abs(res[at]));
                        worstBound = Math.max(worstBound, Math.abs(bf[at] - want) / bound);
                        bfErr = Math.max(bfErr, Math.abs(bf[at] - want));
                        fpErr = Math.max(fpErr, Math.abs(fp[at] - want));
                    }
                }
            }
            String what = "bf16 conv " + java.util.Arrays.toString(sh);
            assertTrue(worstBound <= 1, what + ": error " + worstBound + " x the bf16 bound");
            assertFalse(bfErr <= 16 * fpErr, what + ": largest error " + bfErr + " is not well above fp32's " + fpErr
                    + " (did the bf16 kernel run?)");
            System.out.println(what + ": " + cpuBackend.lowPrecisionConvolutionImplementation(Precision.BF16, false,
                    Shape.of(n, c, h, h), Shape.of(k, c, r, r), spec, true, false) + ", max error " + bfErr + " (fp32 " + fpErr
                    + "), " + worstBound + " of the bound");
        }
    }

    /** The cpu bf16 kernel against the reference backend's emulation (operands rounded to bf16 in Java, double sums). */
    @Test
    void bf16MatchesEmulation() {
        CpuBackend cpuBackend = (CpuBackend) CPU;
        Assumptions.assumeTrue(cpuBackend.supportsInference(Precision.BF16), cpuBackend.precisionSupport(Precision.BF16));
        for (int[] sh : new int[][] {{3, 17, 4, 7, 2, 3}, {8, 9, 8, 3, 1, 1}, {64, 56, 64, 3, 1, 1}}) {
            int c = sh[0], h = sh[1], k = sh[2], r = sh[3];
            Conv2dSpec spec = Conv2dSpec.of(sh[4], sh[5]);
            float[] x = random(c * h * h, 31);
            float[] w = random(k * c * r * r, 32);
            try (Scope scope = Scope.open()) {
                float[] got = CPU.conv2dInferenceBf16(cpu(x, Shape.of(1, c, h, h), true), cpu(w, Shape.of(k, c, r, r)), null, null,
                        false, spec, null).toFloatArray();
                float[] want = Oracle.REF.conv2dInferenceBf16(Oracle.ref(x, Shape.of(1, c, h, h)), Oracle.ref(w, Shape.of(k, c, r, r)),
                        null, null, false, spec, null).toFloatArray();
                double max = 0, worst = 0;
                for (int i = 0; i < got.length; i++) {
                    max = Math.max(max, Math.abs(want[i]));
                    worst = Math.max(worst, Math.abs(got[i] - want[i]));
                }
                // Both round x and w to bf16 the same way (the products are then exact in fp32 and double): only the fp32
                // accumulation differs, by at most gamma_n sum |x w| <= (n + 3) 2^-24 n for |x|, |w| <= 1.
                long n = (long) c * r * r;
                double tol = (n + 3) * 0x1p-24 * n;
                System.out.println("bf16 cpu vs emulation " + java.util.Arrays.toString(sh) + ": " + worst + " of max " + max
                        + " (tolerance " + tol + ")");
                assertTrue(worst <= tol, "bf16 cpu vs emulation " + java.util.Arrays.toString(sh) + ": " + worst);
            }
        }
    }
}
