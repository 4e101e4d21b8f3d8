package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.BatchNormStats;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The cpu backend fuses relu into training batch norm with oneDNN (a mask for the backward) when the batch statistics
 * are finite, and runs unfused otherwise, where oneDNN's fused relu would turn a NaN into 0; either way the output
 * equals batch norm followed by relu bit for bit (FusedReluTest checks gradients too).
 */
class CpuBatchNormReluTest {
    private static final Shape X = Shape.of(4, 16, 5, 7);

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    private static void check(float[] x, boolean fused) {
        try (Scope s = Scope.open()) {
            NDArray xs = Oracle.CPU.fromHost(x, X);
            NDArray gamma = Oracle.CPU.fromHost(random(16, 1), Shape.of(16));
            NDArray beta = Oracle.CPU.fromHost(random(16, 2), Shape.of(16));
            BatchNormStats f = Oracle.CPU.batchNormTrainingRelu(xs, gamma, beta, 1e-5);
            BatchNormStats p = Oracle.CPU.batchNormTraining(xs, gamma, beta, 1e-5);
            assertArrayEquals(Oracle.CPU.toHostFloats(Oracle.CPU.relu(p.output())), Oracle.CPU.toHostFloats(f.output()));
            assertArrayEquals(Oracle.CPU.toHostFloats(p.mean()), Oracle.CPU.toHostFloats(f.mean()));
            assertArrayEquals(Oracle.CPU.toHostFloats(p.variance()), Oracle.CPU.toHostFloats(f.variance()));
            if (fused) {
                assertNotNull(f.workspace(), "finite statistics: oneDNN's fused kernel and its mask");
            } else {
                assertNull(f.workspace(), "non-finite statistics: the unfused kernels, no mask");
            }
        }
    }

    @Test
    void finiteBatchesRunFused() {
        check(random(X.numel(), 3), true);
    }

    @Test
    void batchesWithNaNOrInfinityRunUnfused() {
        float[] x = random(X.numel(), 4);
        x[17] = Float.NaN;
        check(x, false);
        float[] y = random(X.numel(), 5);
        y[40] = Float.POSITIVE_INFINITY;
        check(y, false);
    }
}
