package dev.graft.engine;

import dev.graft.engine.testing.Devices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Dropout as {@code F.dropout}: identity in eval (the same tensor), in training each element zeroed or scaled by
 * 1/(1-p), the same mask for the same seed on every device, and the gradient masked and scaled the same way.
 */
class DropoutTest {

    static List<Device> devices() {
        return Devices.available();
    }

    @ParameterizedTest
    @MethodSource("devices")
    void trainingMasksAndScalesAndEvalIsIdentity(Device d) {
        int n = 20_000;
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.fromArray(d, ones, n).requiresGrad(true);
            assertSame(x, Functional.dropout(x, 0.5, false, new SplittableRandom(1)));
            assertSame(x, Functional.dropout(x, 0.0, true, new SplittableRandom(1)));
            Tensor y = Functional.dropout(x, 0.5, true, new SplittableRandom(7));
            float[] v = y.toFloatArray();
            int kept = 0;
            for (float f : v) {
                assertTrue(f == 0f || f == 2f, "dropout(0.5) of 1 must be 0 or 2, got " + f);
                kept += f == 2f ? 1 : 0;
            }
            // Binomial(20000, 0.5): standard deviation 71; 5 of them either side.
            assertTrue(Math.abs(kept - n / 2) < 355, "kept " + kept + " of " + n);
            // Same seed, same mask, on the reference too.
            Tensor r = Functional.dropout(Tensor.fromArray(Device.REFERENCE, ones, n), 0.5, true, new SplittableRandom(7));
            assertArrayEquals(r.toFloatArray(), v);
            y.sum().backward();
            assertArrayEquals(v, x.grad().toFloatArray(), "the gradient of sum(dropout(x)) is the mask itself");
            assertEquals(0.0, Functional.dropout(x, 1.0, true, new SplittableRandom(3)).sum().item());
        }
    }
}
