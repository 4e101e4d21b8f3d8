package dev.graft.engine.backend.cpu;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.testing.CountingBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * A {@link dev.graft.engine.backend.BackendInterceptor} (kernel counters, {@code graft bench --profile}) changes
 * nothing the kernels return: arrays come back bound to the proxy, and the fused batch norm + relu keeps its mask, so
 * the backward under interception is the fused one and gives the same bits. (An earlier interceptor dropped the
 * mask and so profiled the unfused backward.)
 */
class CpuInterceptedKernelsTest {
    private static final Shape X = Shape.of(4, 8, 6, 5);

    private static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** dx, dgamma, dbeta of the fused batch norm + relu on {@code b}, and whether its forward left a mask. */
    private static float[][] fusedBackward(Backend b) {
        NDArray x = b.fromHost(random(X.numel(), 1), X);
        NDArray gamma = b.fromHost(random(8, 2), Shape.of(8));
        NDArray beta = b.fromHost(random(8, 3), Shape.of(8));
        NDArray dy = b.fromHost(random(X.numel(), 4), X);
        BatchNormStats f = b.batchNormTrainingRelu(x, gamma, beta, 1e-5);
        assertNotNull(f.workspace(), "finite statistics: the fused kernel's relu mask");
        assertSame(b, f.output().backend());
        BatchNormGrads g = b.batchNormReluBackward(dy, f.output(), f.workspace(), x, gamma, f.mean(), f.variance(), 1e-5,
                true, true, false);
        return new float[][] {b.toHostFloats(g.input()), b.toHostFloats(g.weight()), b.toHostFloats(g.bias())};
    }

    @Test
    void theFusedBatchNormKeepsItsMaskUnderInterception() {
        try (Scope s = Scope.open()) {
            float[][] plain = fusedBackward(Oracle.CPU);
            float[][] seen;
            try (CountingBackend counts = CountingBackend.install(Device.CPU)) {
                Backend proxy = Backends.get(Device.CPU);
                seen = fusedBackward(proxy);
                assertEquals(1, counts.count("batchNormTrainingRelu"));
                assertEquals(1, counts.count("batchNormReluBackward"));
            }
            for (int i = 0; i < plain.length; i++) {
                assertArrayEquals(plain[i], seen[i]);
            }
        }
    }
}
