package dev.graft.engine;

import dev.graft.engine.backend.Backends;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The fused training primitives ({@link Functional#addRelu}, {@link Functional#batchNorm2dRelu}) against an
 * independent oracle: the unfused ops ({@code add} then {@code relu}, {@code batchNorm2d} then {@code relu}, each
 * with its own autograd function) on the reference backend in F64. Values, input and parameter gradients and running
 * statistics are compared on every available device, with NaN, infinities and signed zeros in the inputs and in the
 * output gradient (NaN must match NaN).
 *
 * <p>Tolerances. add + relu and its gradients are exact in F32 on every device: a sum of two floats rounds once,
 * relu and its mask are exact, so the F32 result is the F64 one rounded (checked bit for bit after rounding, with
 * -0 equal to +0). Batch norm rounds its statistics and output in F32; over at most 3*6*7 = 126 values per channel
 * of N(0, 1) inputs the F32 results differ from F64's by at most 1.05e-7 (reference) and 1.24e-6 (cpu, the weight
 * gradient of seed 4) relative to max(1, |value|), measured over these 16 draws; {@link #BN_TOLERANCE} is 10x the
 * larger, while a slip in the fused primitive's semantics (a missed mask, statistics of the wrong values) moves
 * results by O(1).
 *
 * <p>On cpu, which fuses both pairs into one oneDNN kernel each, the fused results must in addition equal the
 * same backend's unfused kernels bit for bit (the cpu backend's contract). On the reference backend the fused
 * default <em>is</em> the unfused composition, so only the F64 comparison means anything there.
 */
class FusedReluTest {
    static final double BN_TOLERANCE = 1.2e-5;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Device d : new Device[] {Device.REFERENCE, Device.CPU}) {
            if (d.equals(Device.CPU) && !Backends.availability(Device.Kind.CPU).available()) {
                continue;
            }
            for (int seed = 0; seed < 8; seed++) {
                out.add(Arguments.of(d, seed, seed % 2 == 0, seed % 4 >= 2));
            }
        }
        return out.stream();
    }

    private static float[] values(Random r, int n, boolean specials) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        if (specials) {
            float[] s = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 0f};
            for (int k = 0; k < s.length; k++) {
                v[r.nextInt(n)] = s[k];
            }
        }
        return v;
    }

    private static double[] widen(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    /** An F32 tensor on {@code d}, or the same values as an F64 tensor on the reference oracle. */
    private static Tensor tensor(Device d, boolean oracle, float[] v, int... shape) {
        return oracle ? Tensor.fromArray(Device.REFERENCE, DType.F64, widen(v), shape) : Tensor.fromArray(d, v, shape);
    }

    /**
     * Back-propagates g into y: as the caller's gradient (which backward must not overwrite), or {@code viaTemporary}
     * as the gradient of sum(y * g), which reaches y as a temporary of the pass (which it may overwrite).
     */
    private static void backward(Tensor y, Tensor g, boolean viaTemporary) {
        if (viaTemporary) {
            y.mul(g).sum().backward();
        } else {
            y.backward(g);
        }
    }

    private static int[] shape(Random r) {
        return new int[] {1 + r.nextInt(3), 1 + r.nextInt(9), 1 + r.nextInt(6), 2 + r.nextInt(6)};
    }

    /** |actual - expected| <= tol * max(1, |expected|) element by element; NaN must match NaN; -0 equals +0. */
    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        if (expected.length != actual.length) {
            throw new AssertionError(what + ": " + actual.length + " values, expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            boolean ok = Double.isNaN(e) ? Double.isNaN(a) : e == a || Math.abs(a - e) <= tol * Math.max(1, Math.abs(e));
            if (!ok) {
                throw new AssertionError(what + ": element " + i + " is " + a + ", expected " + e
                        + " (tolerance " + tol + " relative to max(1, |expected|))");
            }
        }
    }

    /** The F64 values rounded to float, as the exact F32 result must be. */
    private static double[] rounded(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = (float) v[i];
        }
        return r;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void addReluIsAddThenRelu(Device d, int seed, boolean specials, boolean viaTemporary) {
        Random r = new Random(seed);
        int[] s = shape(r);
        int n = s[0] * s[1] * s[2] * s[3];
        float[] av = values(r, n, specials);
        float[] bv = values(r, n, specials);
        float[] gv = values(r, n, specials);
        // 0: fused on d (F32); 1: add then relu on d (F32); 2: add then relu on the reference in F64.
        double[][][] runs = new double[3][][];
        for (int f = 0; f < 3; f++) {
            boolean oracle = f == 2;
            try (Scope scope = Scope.open()) {
                Tensor a = tensor(d, oracle, av, s).requiresGrad(true);
                Tensor b = tensor(d, oracle, bv, s).requiresGrad(true);
                Tensor y = f == 0 ? Functional.addRelu(a, b) : a.add(b).relu();
                backward(y, tensor(d, oracle, gv, s), viaTemporary);
                runs[f] = new double[][] {y.toDoubleArray(), a.grad().toDoubleArray(), b.grad().toDoubleArray()};
            }
        }
        String[] names = {"output", "grad a", "grad b"};
        for (int i = 0; i < 3; i++) {
            String what = d + " seed " + seed + " " + names[i];
            assertClose(rounded(runs[2][i]), runs[0][i], 0, what + ": fused vs F64 add + relu");
            if (!d.equals(Device.REFERENCE)) {
                assertArrayEquals(runs[1][i], runs[0][i], what + ": fused vs the same backend's add + relu");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void batchNormReluIsBatchNormThenRelu(Device d, int seed, boolean specials, boolean viaTemporary) {
        for (boolean training : new boolean[] {true, false}) {
            Random r = new Random(seed);
            int[] s = shape(r);
            if (s[0] * s[2] * s[3] < 2) {
                s[3] = 2;
            }
            int c = s[1];
            int n = s[0] * c * s[2] * s[3];
            // With specials the training case has NaN batch statistics: the cpu backend then runs its fused kernel unfused.
            float[] xv = values(r, n, specials);
            float[] gv = values(r, n, specials);
            float[] gamma = values(r, c, false);
            float[] beta = values(r, c, false);
            float[] var = new float[c];
            for (int i = 0; i < c; i++) {
                var[i] = 0.5f + r.nextFloat();
            }
            float[] mean = values(r, c, false);
            double[][][] runs = new double[3][][];
            for (int f = 0; f < 3; f++) {
                boolean oracle = f == 2;
                try (Scope scope = Scope.open()) {
                    Tensor x = tensor(d, oracle, xv, s).requiresGrad(true);
                    Tensor w = tensor(d, oracle, gamma, c).requiresGrad(true);
                    Tensor b = tensor(d, oracle, beta, c).requiresGrad(true);
                    Tensor rm = tensor(d, oracle, mean, c);
                    Tensor rv = tensor(d, oracle, var, c);
                    Tensor y = f == 0 ? Functional.batchNorm2dRelu(x, w, b, rm, rv, training, 0.1, 1e-5)
                            : Functional.batchNorm2d(x, w, b, rm, rv, training, 0.1, 1e-5).relu();
                    backward(y, tensor(d, oracle, gv, s), viaTemporary);
                    runs[f] = new double[][] {y.toDoubleArray(), x.grad().toDoubleArray(), w.grad().toDoubleArray(),
                            b.grad().toDoubleArray(), rm.toDoubleArray(), rv.toDoubleArray()};
                }
            }
            String[] names = {"output", "grad x", "grad weight", "grad bias", "running mean", "running var"};
            for (int i = 0; i < 6; i++) {
                String what = d + " seed " + seed + (training ? " training " : " fixed statistics ") + names[i];
                assertClose(runs[2][i], runs[0][i], BN_TOLERANCE, what + ": fused vs F64 batch norm + relu");
                if (!d.equals(Device.REFERENCE)) {
                    assertArrayEquals(runs[1][i], runs[0][i], what + ": fused vs the same backend's batch norm + relu");
                }
            }
        }
    }
}
