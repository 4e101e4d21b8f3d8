package dev.graft.engine;

import dev.graft.engine.backend.Backends;
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
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Binary cross-entropy with logits against {@code torch.nn.BCEWithLogitsLoss} (fixture from
 * engine/src/test/python/make_bce_values.py: logits up to +-40, pos_weight, NaN = unknown targets whose masked mean
 * torch computes as {@code loss(reduction='none')[mask].mean()}) on every available device, plus hand-worked values.
 * Tolerances as ForwardValuesTest: F64 atol 1e-12 / rtol 1e-10 (double arithmetic on both sides); F32 atol 2e-5 /
 * rtol 1e-5 (the logits are rounded to float on the way in: a relative change of u = 6e-8 in a logit of 40 moves a
 * loss term by at most 40 u = 2.4e-6 times its gradient, below 1).
 */
class BceWithLogitsTest {
    private static final Fixtures TORCH = Fixtures.load("/fixtures/bce_values.txt");

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

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("devicesAndTypes")
    void matchesTorch(Device d, DType t) {
        float[] y = TORCH.get("bce.y").floats();
        float[] masked = TORCH.get("bce.masked_y").floats();
        float[] pw = TORCH.get("bce.pos_weight").floats();
        check(d, t, y, null, "bce.plain");
        check(d, t, y, pw, "bce.weighted");
        check(d, t, masked, pw, "bce.masked_weighted");
    }

    private static void check(Device d, DType t, float[] targets, float[] pw, String name) {
        try (Scope s = Scope.open()) {
            Fixtures.Array x = TORCH.get("bce.x");
            Tensor logits = Tensor.fromArray(d, t, x.values(), x.shape()).requiresGrad(true);
            Tensor loss = Functional.bceWithLogits(logits, targets, pw);
            expect(t, name, loss);
            loss.backward();
            expect(t, name + ".dx", logits.grad());
        }
    }

    /**
     * By hand: x = 0 gives log 2 whatever the target; x = log 3 with y = 1 gives -log(3/4) = log(4/3), times pos_weight
     * 2; with y = 0 log(1 + 3) = log 4. Unknown targets change neither the sum nor the count; gradients
     * (sigmoid(x) - y) / K with the positive term weighted: sigmoid(log 3) = 3/4.
     */
    @Test
    void byHand() {
        try (Scope s = Scope.open()) {
            double ln3 = Math.log(3);
            Tensor x = Tensor.fromArray(Device.REFERENCE, DType.F64, new double[] {0, ln3, ln3, 5}, 2, 2).requiresGrad(true);
            float nan = Float.NaN;
            Tensor loss = Functional.bceWithLogits(x, new float[] {1, 1, 0, nan}, new float[] {1, 2});
            double k = 3;
            assertEquals((Math.log(2) + 2 * Math.log(4.0 / 3) + Math.log(4)) / k, loss.item(), 1e-15);
            loss.backward();
            assertArrayEquals(new double[] {(0.5 - 1) / k, -2 * 0.25 / k, 0.75 / k, 0}, x.grad().toDoubleArray(), 1e-15);
        }
    }

    /** Confident logits keep relative precision: x = 40, y = 1 has loss log1p(exp(-40)) = 4.248e-18, not 0. */
    @Test
    void confidentLogitsKeepTheirSmallLosses() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.fromArray(Device.REFERENCE, DType.F64, new double[] {40, -40}, 1, 2).requiresGrad(true);
            Tensor loss = Functional.bceWithLogits(x, new float[] {1, 0}, null);
            assertEquals(Math.log1p(Math.exp(-40)), loss.item(), 1e-30);
            loss.backward();
            double e = Math.exp(-40) / (1 + Math.exp(-40));
            assertArrayEquals(new double[] {-e / 2, e / 2}, x.grad().toDoubleArray(), 1e-32);
        }
    }

    @Test
    void noKnownTargetGivesZeroLossAndGradient() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.fromArray(Device.REFERENCE, DType.F64, new double[] {1, -2}, 1, 2).requiresGrad(true);
            Tensor loss = Functional.bceWithLogits(x, new float[] {Float.NaN, Float.NaN}, null);
            assertEquals(0, loss.item());
            loss.backward();
            assertArrayEquals(new double[] {0, 0}, x.grad().toDoubleArray());
        }
    }

    @Test
    void badInputIsATypedError() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(Device.REFERENCE, DType.F32, 2, 3);
            ShapeException e = assertThrows(ShapeException.class, () -> Functional.bceWithLogits(x, new float[5], null));
            assertTrue(e.getMessage().contains("binary_cross_entropy_with_logits"), e.getMessage());
            assertThrows(ShapeException.class, () -> Functional.bceWithLogits(x, new float[] {0, 1, 2, 0, 0, 0}, null));
            assertThrows(ShapeException.class, () -> Functional.bceWithLogits(x, new float[6], new float[2]));
            assertThrows(ShapeException.class, () -> Functional.bceWithLogits(x, new float[6], new float[] {1, -1, 1}));
            assertThrows(ShapeException.class, () -> Functional.bceWithLogits(Tensor.zeros(Device.REFERENCE, DType.F32, 6),
                    new float[6], null));
        }
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
