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
 * The fused training primitives ({@link Functional#addRelu}, {@link Functional#batchNorm2dRelu}) give exactly the
 * values, gradients and running statistics of the ops they fuse, on every available device, including NaN,
 * infinities and signed zeros in the inputs and in the output gradient.
 */
class FusedReluTest {

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

    @ParameterizedTest
    @MethodSource("cases")
    void addReluIsAddThenRelu(Device d, int seed, boolean specials, boolean viaTemporary) {
        Random r = new Random(seed);
        int[] s = shape(r);
        int n = s[0] * s[1] * s[2] * s[3];
        float[] av = values(r, n, specials);
        float[] bv = values(r, n, specials);
        float[] gv = values(r, n, specials);
        float[][] fused = new float[3][];
        float[][] plain = new float[3][];
        for (int f = 0; f < 2; f++) {
            try (Scope scope = Scope.open()) {
                Tensor a = Tensor.fromArray(d, av, s).requiresGrad(true);
                Tensor b = Tensor.fromArray(d, bv, s).requiresGrad(true);
                Tensor y = f == 0 ? Functional.addRelu(a, b) : a.add(b).relu();
                backward(y, Tensor.fromArray(d, gv, s), viaTemporary);
                float[][] into = f == 0 ? fused : plain;
                into[0] = y.toFloatArray();
                into[1] = a.grad().toFloatArray();
                into[2] = b.grad().toFloatArray();
            }
        }
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(plain[i], fused[i], d + " seed " + seed + " output " + i);
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
            float[][] fused = new float[6][];
            float[][] plain = new float[6][];
            for (int f = 0; f < 2; f++) {
                try (Scope scope = Scope.open()) {
                    Tensor x = Tensor.fromArray(d, xv, s).requiresGrad(true);
                    Tensor w = Tensor.fromArray(d, gamma, c).requiresGrad(true);
                    Tensor b = Tensor.fromArray(d, beta, c).requiresGrad(true);
                    Tensor rm = Tensor.fromArray(d, mean, c);
                    Tensor rv = Tensor.fromArray(d, var, c);
                    Tensor y = f == 0 ? Functional.batchNorm2dRelu(x, w, b, rm, rv, training, 0.1, 1e-5)
                            : Functional.batchNorm2d(x, w, b, rm, rv, training, 0.1, 1e-5).relu();
                    backward(y, Tensor.fromArray(d, gv, s), viaTemporary);
                    float[][] into = f == 0 ? fused : plain;
                    into[0] = y.toFloatArray();
                    into[1] = x.grad().toFloatArray();
                    into[2] = w.grad().toFloatArray();
                    into[3] = b.grad().toFloatArray();
                    into[4] = rm.toFloatArray();
                    into[5] = rv.toFloatArray();
                }
            }
            for (int i = 0; i < 6; i++) {
                assertArrayEquals(plain[i], fused[i], d + " seed " + seed + (training ? " training" : " fixed statistics") + " output " + i);
            }
        }
    }
}
