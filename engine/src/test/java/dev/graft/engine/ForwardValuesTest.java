package dev.graft.engine;

import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.testing.Devices;
import dev.graft.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Forward values, where a gradient check is blind (a forward and backward wrong in the same way agree with
 * finite differences): against PyTorch 1.13 outputs ({@code fixtures/forward_values.txt}, made by
 * {@code engine/src/test/python/make_forward_values.py}) on every available device, and against small
 * examples worked by hand on the reference backend.
 *
 * <p>Tolerances: F64 |got - want| <= 1e-12 + 1e-10 |want| (both sides accumulate in double; only the
 * summation order differs). F32 2e-5 + 1e-5 |want|: inputs rounded to float (relative 6e-8) through sums of
 * at most a few dozen terms of magnitude <= 50.
 */
class ForwardValuesTest {
    private static final Fixtures TORCH = Fixtures.load("/fixtures/forward_values.txt");

    static List<Arguments> devicesAndTypes() {
        List<Arguments> out = new ArrayList<>();
        for (Device d : Devices.available()) {
            out.add(Arguments.of(d, DType.F32));
            if (Backends.get(d).supports(DType.F64)) {
                out.add(Arguments.of(d, DType.F64));
            }
        }
        return out;
    }

    // ---- against PyTorch --------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndTypes")
    void conv2dGroupedStridedPaddedDilatedMatchesTorch(Device d, DType t) {
        try (Scope s = Scope.open()) {
            Tensor x = tensor(d, t, "conv.x").requiresGrad(true);
            Tensor w = tensor(d, t, "conv.w").requiresGrad(true);
            Tensor b = tensor(d, t, "conv.b").requiresGrad(true);
            Tensor y = Functional.conv2d(x, w, b, new Conv2dSpec(2, 1, 1, 2, 1, 2, 2));
            expect(t, "conv.y", y);
            y.backward(tensor(d, t, "conv.g"));
            expect(t, "conv.dx", x.grad());
            expect(t, "conv.dw", w.grad());
            expect(t, "conv.db", b.grad());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndTypes")
    void depthwiseConv2dMatchesTorch(Device d, DType t) {
        try (Scope s = Scope.open()) {
            expect(t, "dwconv.y", Functional.conv2d(tensor(d, t, "dwconv.x"), tensor(d, t, "dwconv.w"), null,
                    Conv2dSpec.of(2, 1, 1, 3)));
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndTypes")
    void maxPool2dMatchesTorch(Device d, DType t) {
        try (Scope s = Scope.open()) {
            Tensor x = tensor(d, t, "pool.x").requiresGrad(true);
            Tensor y = Functional.maxPool2d(x, new Pool2dSpec(3, 2, 2, 3, 1, 1));
            expect(t, "pool.y", y);
            y.backward(tensor(d, t, "pool.g"));
            expect(t, "pool.dx", x.grad());
        }
    }

    /** Many ties in overlapping windows: each window's gradient goes to its first maximum in scan order. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndTypes")
    void maxPool2dTiesGoToTheFirstMaximumAsInTorch(Device d, DType t) {
        try (Scope s = Scope.open()) {
            Tensor x = tensor(d, t, "poolties.x").requiresGrad(true);
            Tensor y = Functional.maxPool2d(x, Pool2dSpec.of(3, 1, 1));
            expect(t, "poolties.y", y);
            y.sum().backward();
            expect(t, "poolties.dx", x.grad());
        }
    }

    /** Training normalises with the batch's biased variance; running stats move by momentum 0.1 with the unbiased one. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndTypes")
    void batchNormTrainingEvalAndRunningStatsMatchTorch(Device d, DType t) {
        try (Scope s = Scope.open()) {
            Tensor x = tensor(d, t, "bn.x");
            Tensor gamma = tensor(d, t, "bn.gamma");
            Tensor beta = tensor(d, t, "bn.beta");
            Tensor mean = tensor(d, t, "bn.running_mean");
            Tensor var = tensor(d, t, "bn.running_var");
            expect(t, "bn.y", Functional.batchNorm2d(x, gamma, beta, mean, var, true, 0.1, 1e-5));
            expect(t, "bn.running_mean_after", mean);
            expect(t, "bn.running_var_after", var);
            expect(t, "bn.y_eval", Functional.batchNorm2d(x, gamma, beta, mean, var, false, 0.1, 1e-5));
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndTypes")
    void poolingLinearAndLogSoftmaxMatchTorch(Device d, DType t) {
        try (Scope s = Scope.open()) {
            expect(t, "avg.y", Functional.adaptiveAvgPool2d(tensor(d, t, "avg.x"), 1));
            expect(t, "linear.y", Functional.linear(tensor(d, t, "linear.x"), tensor(d, t, "linear.w"), tensor(d, t, "linear.b")));
            expect(t, "lsm.y", Functional.logSoftmax(tensor(d, t, "lsm.x")));
        }
    }

    /** CrossEntropyLoss: weighted mean divides by the labels' weights; smoothing spreads e/C over all classes. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndTypes")
    void crossEntropyWithWeightsAndSmoothingMatchesTorch(Device d, DType t) {
        try (Scope s = Scope.open()) {
            int[] labels = TORCH.get("ce.labels").ints();
            float[] weights = TORCH.get("ce.weights").floats();
            Tensor logits = tensor(d, t, "ce.logits").requiresGrad(true);
            expect(t, "ce.plain", Functional.crossEntropy(logits, labels));
            expect(t, "ce.weighted", Functional.crossEntropy(logits, labels, weights, 0));
            expect(t, "ce.smoothed", Functional.crossEntropy(logits, labels, null, 0.15));
            expect(t, "nll.weighted", Functional.nllLoss(Functional.logSoftmax(logits), labels, weights, 0));
            Tensor loss = Functional.crossEntropy(logits, labels, weights, 0.15);
            expect(t, "ce.weighted_smoothed", loss);
            loss.backward();
            expect(t, "ce.weighted_smoothed.dlogits", logits.grad());
        }
    }

    // ---- worked by hand ---------------------------------------------------------------------------------

    /** x = 1..9 as 3x3, w = [[1, 0], [0, -1]]: every output is x[i][j] - x[i+1][j+1] = -4, plus the bias. */
    @Test
    void conv2dByHand() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.fromArray(Device.REFERENCE, new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
            Tensor w = Tensor.fromArray(Device.REFERENCE, new float[] {1, 0, 0, -1}, 1, 1, 2, 2);
            Tensor b = Tensor.fromArray(Device.REFERENCE, new float[] {0.5f}, 1);
            assertArrayEquals(new float[] {-3.5f, -3.5f, -3.5f, -3.5f}, Functional.conv2d(x, w, b, Conv2dSpec.of(1, 0)).toFloatArray());
            // Padding 1, stride 2: windows start at rows/cols -1 and 1; padded cells are 0.
            // y00 = -x00 = -1, y01 = -x02 = -3, y10 = -x20 = -7, y11 = x11 - x22 = 5 - 9 = -4.
            Tensor y = Functional.conv2d(x, w, null, Conv2dSpec.of(2, 1));
            assertArrayEquals(new int[] {1, 1, 2, 2}, y.shape().dims());
            assertArrayEquals(new float[] {-1, -3, -7, -4}, y.toFloatArray());
        }
    }

    /** [[1, 3], [3, 2]] and an all-equal window: the gradient goes to the first maximum in row-major order. */
    @Test
    void maxPoolTiesByHand() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.fromArray(Device.REFERENCE, new float[] {1, 3, 3, 2, 7, 7, 7, 7}, 1, 2, 2, 2).requiresGrad(true);
            Tensor y = Functional.maxPool2d(x, Pool2dSpec.of(2, 2, 0));
            assertArrayEquals(new float[] {3, 7}, y.toFloatArray());
            y.sum().backward();
            assertArrayEquals(new float[] {0, 1, 0, 0, 1, 0, 0, 0}, x.grad().toFloatArray());
        }
    }

    /** One channel holding 1, 2, 3, 4: mean 2.5, biased variance 1.25, unbiased 5/3. */
    @Test
    void batchNormRunningStatisticsByHand() {
        try (Scope s = Scope.open()) {
            Device r = Device.REFERENCE;
            Tensor x = Tensor.fromArray(r, DType.F64, new double[] {1, 2, 3, 4}, 1, 1, 2, 2);
            Tensor one = Tensor.full(r, DType.F64, 1, 1);
            Tensor zero = Tensor.zeros(r, DType.F64, 1);
            Tensor mean = Tensor.zeros(r, DType.F64, 1);
            Tensor var = Tensor.full(r, DType.F64, 1, 1);
            double[] y = Functional.batchNorm2d(x, one, zero, mean, var, true, 0.1, 1e-5).toDoubleArray();
            double invstd = 1 / Math.sqrt(1.25 + 1e-5);
            assertArrayEquals(new double[] {-1.5 * invstd, -0.5 * invstd, 0.5 * invstd, 1.5 * invstd}, y, 1e-15);
            assertEquals(0.1 * 2.5, mean.item(), 1e-15);
            assertEquals(0.9 * 1 + 0.1 * 5.0 / 3, var.item(), 1e-15);
            // No weight and bias (PyTorch's affine=False): the same as weight 1 and bias 0.
            assertArrayEquals(y, Functional.batchNorm2d(x, null, null, null, null, true, 0.1, 1e-5).toDoubleArray(), 0);
            assertArrayEquals(Functional.batchNorm2d(x, one, zero, mean, var, false, 0.1, 1e-5).toDoubleArray(),
                    Functional.batchNorm2d(x, null, null, mean, var, false, 0.1, 1e-5).toDoubleArray(), 0);
        }
    }

    /**
     * Rows [0, ln 3] (p = 1/4, 3/4) and [0, 0] (p = 1/2, 1/2), labels 0 and 1, class weights 2 and 1. Weighted:
     * (2 ln 4 + ln 2) / (2 + 1). Smoothing e = 0.2: each row adds (e/C) sum_c w_c (-log p_c) and keeps (1 - e)
     * of its label term; still divided by the labels' weights, 3.
     */
    @Test
    void crossEntropyWithWeightsAndSmoothingByHand() {
        try (Scope s = Scope.open()) {
            Tensor logits = Tensor.fromArray(Device.REFERENCE, DType.F64, new double[] {0, Math.log(3), 0, 0}, 2, 2);
            int[] labels = {0, 1};
            float[] w = {2, 1};
            double ln2 = Math.log(2);
            double ln4 = Math.log(4);
            double ln43 = Math.log(4.0 / 3);
            assertEquals((ln4 + ln2) / 2, Functional.crossEntropy(logits, labels).item(), 1e-15);
            assertEquals((2 * ln4 + ln2) / 3, Functional.crossEntropy(logits, labels, w, 0).item(), 1e-15);
            double row0 = 0.8 * 2 * ln4 + 0.2 / 2 * (2 * ln4 + 1 * ln43);
            double row1 = 0.8 * 1 * ln2 + 0.2 / 2 * (2 * ln2 + 1 * ln2);
            assertEquals((row0 + row1) / 3, Functional.crossEntropy(logits, labels, w, 0.2).item(), 1e-15);
            // Equal logits: every class has -log p = ln C, whatever the smoothing.
            Tensor flat = Tensor.zeros(Device.REFERENCE, DType.F64, 1, 4);
            assertEquals(Math.log(4), Functional.crossEntropy(flat, new int[] {2}, null, 0.7).item(), 1e-15);
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    private static Tensor tensor(Device d, DType t, String name) {
        Fixtures.Array a = TORCH.get(name);
        return Tensor.fromArray(d, t, a.values(), a.shape());
    }

    private static void expect(DType t, String name, Tensor got) {
        Fixtures.Array want = TORCH.get(name);
        assertArrayEquals(want.shape(), got.shape().dims(), name + ": shape");
        double atol = t == DType.F64 ? 1e-12 : 2e-5;
        double rtol = t == DType.F64 ? 1e-10 : 1e-5;
        double[] g = got.toDoubleArray();
        for (int i = 0; i < g.length; i++) {
            double w = want.values()[i];
            if (!(Math.abs(g[i] - w) <= atol + rtol * Math.abs(w))) {
                fail(name + " on " + got.device() + " " + t + ": element " + i + " is " + g[i] + ", torch says " + w
                        + " (atol " + atol + ", rtol " + rtol + ")");
            }
        }
    }
}
