package dev.graft.engine;

import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.testing.Devices;
import dev.graft.engine.testing.NonFinite;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

/**
 * What PyTorch does with NaN and infinities, pinned down: each expected value was printed by torch 1.13 (1.13.0a0, cpu,
 * float32, Debian's python3-torch) for the same inputs, and every device must give it. {@link NonFiniteProperties} compares
 * the devices with the reference backend on random inputs; these cases anchor the reference itself. Kinds must match
 * exactly; finite values within 1e-4, as torch printed them to 4 decimals (most are exact: 0, 1, 0.05).
 */
class TorchNonFiniteCasesTest {
    private static final double NAN = Double.NaN;
    private static final double INF = Double.POSITIVE_INFINITY;

    static List<Device> devices() {
        return Devices.available();
    }

    private static Tensor t(Device d, boolean grad, double[] v, int... shape) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return Tensor.fromArray(d, f, shape).requiresGrad(grad);
    }

    private static void expect(String what, double[] expected, Tensor actual) {
        double[] a = actual.toDoubleArray();
        NonFinite.assertSameKinds(what, expected, a);
        for (int i = 0; i < a.length; i++) {
            if (NonFinite.kind(expected[i]) == 0 && !(Math.abs(a[i] - expected[i]) <= 1e-4)) {
                throw new AssertionError(what + ": element " + i + " is " + a[i] + ", torch gives " + expected[i]);
            }
        }
    }

    /** torch.relu([nan, -1, 1, inf, -inf]) and its gradient for ones: threshold_backward passes it where y is NaN. */
    @ParameterizedTest
    @MethodSource("devices")
    void relu(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = t(d, true, new double[] {NAN, -1, 1, INF, -INF}, 5);
            Tensor y = x.relu();
            expect(d + " relu", new double[] {NAN, 0, 1, INF, 0}, y);
            y.backward(t(d, false, new double[] {1, 1, 1, 1, 1}, 5));
            expect(d + " relu gradient", new double[] {1, 0, 1, 1, 0}, x.grad());
        }
    }

    /** A row with NaN or +inf is all NaN; -inf beside finite logits is -inf; a row of -inf is NaN. */
    @ParameterizedTest
    @MethodSource("devices")
    void logSoftmax(Device d) {
        try (Scope s = Scope.open()) {
            expect(d + " log_softmax [inf, 1, 2]", new double[] {NAN, NAN, NAN},
                    Functional.logSoftmax(t(d, false, new double[] {INF, 1, 2}, 1, 3)));
            expect(d + " log_softmax [nan, 1, 2]", new double[] {NAN, NAN, NAN},
                    Functional.logSoftmax(t(d, false, new double[] {NAN, 1, 2}, 1, 3)));
            expect(d + " log_softmax [-inf, 1, 2]", new double[] {-INF, -1.3133, -0.3133},
                    Functional.logSoftmax(t(d, false, new double[] {-INF, 1, 2}, 1, 3)));
            expect(d + " log_softmax [-inf, -inf]", new double[] {NAN, NAN},
                    Functional.logSoftmax(t(d, false, new double[] {-INF, -INF}, 1, 2)));
            expect(d + " log_softmax [inf, -inf]", new double[] {NAN, NAN},
                    Functional.logSoftmax(t(d, false, new double[] {INF, -INF}, 1, 2)));
            // Backward with an infinite output gradient: dx = dy - exp(y) * sum(dy) = [1 - p0 * inf, inf - p1 * inf].
            Tensor x = t(d, true, new double[] {2, 0}, 1, 2);
            Functional.logSoftmax(x).backward(t(d, false, new double[] {1, INF}, 1, 2));
            expect(d + " log_softmax backward, dy [1, inf]", new double[] {-INF, NAN}, x.grad());
        }
    }

    /** Cross-entropy with label smoothing of logits [-inf, 0], label 1: the loss is inf, its gradient finite. */
    @ParameterizedTest
    @MethodSource("devices")
    void crossEntropyWithSmoothing(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = t(d, true, new double[] {-INF, 0}, 1, 2);
            Tensor loss = Functional.crossEntropy(x, new int[] {1}, null, 0.1);
            expect(d + " cross_entropy", new double[] {INF}, loss);
            loss.backward();
            expect(d + " cross_entropy gradient", new double[] {-0.05, 0.05}, x.grad());
        }
    }

    /** Max over a window with NaN is NaN (the last NaN takes the gradient); a window of -inf gives -inf. */
    @ParameterizedTest
    @MethodSource("devices")
    void maxPool(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = t(d, true, new double[] {1, NAN, NAN, 2}, 1, 1, 1, 4);
            Tensor y = Functional.maxPool2d(x, new Pool2dSpec(1, 4, 1, 4, 0, 0));
            expect(d + " max_pool2d [1, nan, nan, 2]", new double[] {NAN}, y);
            y.backward(t(d, false, new double[] {1}, 1, 1, 1, 1));
            expect(d + " max_pool2d gradient", new double[] {0, 0, 1, 0}, x.grad());

            Tensor z = t(d, true, new double[] {NAN, 5, -INF, -INF}, 1, 1, 1, 4);
            Tensor yz = Functional.maxPool2d(z, new Pool2dSpec(1, 2, 1, 2, 0, 0));
            expect(d + " max_pool2d [nan, 5 | -inf, -inf]", new double[] {NAN, -INF}, yz);
            yz.backward(t(d, false, new double[] {1, 1}, 1, 1, 1, 2));
            expect(d + " max_pool2d [nan, 5 | -inf, -inf] gradient", new double[] {1, 0, 1, 0}, z.grad());

            expect(d + " max_pool2d of -inf with padding", new double[] {-INF, -INF, -INF},
                    Functional.maxPool2d(t(d, false, new double[] {-INF, -INF, -INF}, 1, 1, 1, 3), new Pool2dSpec(1, 3, 1, 1, 0, 1)));
        }
    }

    /** inf + -inf = NaN in a mean; 0 * inf = NaN in a convolution and a matrix product. */
    @ParameterizedTest
    @MethodSource("devices")
    void averagesAndProducts(Device d) {
        try (Scope s = Scope.open()) {
            expect(d + " adaptive_avg_pool2d", new double[] {NAN, INF},
                    Functional.adaptiveAvgPool2d(t(d, false, new double[] {INF, -INF, INF, 1}, 1, 2, 1, 2), 1));
            double[] x = new double[9];
            x[4] = INF;
            Tensor w = t(d, false, new double[] {0, 1, 0, 1, -1, 1, 0, 1, 0}, 1, 1, 3, 3);
            expect(d + " conv2d of a centred inf", new double[] {NAN, INF, NAN, INF, -INF, INF, NAN, INF, NAN},
                    Functional.conv2d(t(d, false, x, 1, 1, 3, 3), w, null, Conv2dSpec.of(1, 1)));
            expect(d + " mm [inf, 1] x [0, 1]", new double[] {NAN},
                    Functional.matmul(t(d, false, new double[] {INF, 1}, 1, 2), t(d, false, new double[] {0, 1}, 2, 1), false, false));
        }
    }

    /**
     * Batch norm: an inf in a channel makes that channel's batch statistics and outputs NaN in training (the other
     * channel stays finite, and so does the bias gradient, a plain sum of dy); with fixed statistics inf, -inf and NaN
     * map to themselves.
     */
    @ParameterizedTest
    @MethodSource("devices")
    void batchNorm(Device d) {
        double[] x = {INF, 0.3, -1.2, 0.8, 1.5, -0.4, 0.1, 2.0, 0.6, -0.9, 1.1, 0.2, -0.3, 0.7, -1.6, 0.5};
        try (Scope s = Scope.open()) {
            Tensor xt = t(d, true, x, 2, 2, 2, 2);
            Tensor gamma = t(d, true, new double[] {1, 1}, 2);
            Tensor beta = t(d, true, new double[] {0, 0}, 2);
            Tensor y = Functional.batchNorm2d(xt, gamma, beta, null, null, true, 0.1, 1e-5);
            expect(d + " batch_norm training", new double[] {NAN, NAN, NAN, NAN, 1.1178, -0.6707, -0.2000, 1.5884,
                    NAN, NAN, NAN, NAN, -0.5765, 0.3648, -1.8002, 0.1765}, y);
            double[] g = new double[16];
            java.util.Arrays.fill(g, 1);
            y.backward(t(d, false, g, 2, 2, 2, 2));
            expect(d + " batch_norm bias gradient", new double[] {8, 8}, beta.grad());
            expect(d + " batch_norm weight gradient", new double[] {NAN, 0}, gamma.grad());

            double[] e = {INF, 0.5, NAN, -INF};
            Tensor z = Functional.batchNorm2d(t(d, false, e, 1, 1, 2, 2), null, null, t(d, false, new double[] {0}, 1),
                    t(d, false, new double[] {1}, 1), false, 0.1, 1e-5);
            expect(d + " batch_norm eval", new double[] {INF, 0.5, NAN, -INF}, z);
        }
    }
}
