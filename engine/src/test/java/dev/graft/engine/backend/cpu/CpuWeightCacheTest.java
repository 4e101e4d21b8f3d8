package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.SgdSpec;
import org.junit.jupiter.api.Test;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.abs;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref;
import static dev.graft.engine.backend.cpu.Oracle.summationTolerance;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Reordered weight copies follow their buffer: an in-place write (loading weights, an optimizer step) makes
 * the next convolution use the new values, and the copies of closed weight buffers are dropped.
 */
class CpuWeightCacheTest {
    private static final Shape X = Shape.of(2, 16, 7, 7);
    private static final Shape W = Shape.of(32, 16, 3, 3);
    private static final Conv2dSpec SPEC = Conv2dSpec.of(1, 1);

    private static void assertConvMatches(String what, float[] x, NDArray wCpu) {
        float[] w = wCpu.toFloatArray();
        NDArray expected = REF.conv2d(ref(x, X), ref(w, W), null, SPEC);
        NDArray bound = REF.conv2d(ref(abs(x), X), ref(abs(w), W), null, SPEC);
        assertClose(what, expected, CPU.conv2d(CPU.fromHost(x, X), wCpu, null, SPEC), summationTolerance(16 * 9, bound));
    }

    @Test
    void inPlaceWeightUpdatesReachTheConvolution() {
        try (Scope s = Scope.open()) {
            float[] x = random(X.numel(), 1);
            NDArray w = CPU.fromHost(random(W.numel(), 2), W);
            assertConvMatches("first forward", x, w);
            CPU.copyFromHost(w, random(W.numel(), 3));
            assertConvMatches("after copyFromHost", x, w);
            CPU.sgdUpdate(w, CPU.fromHost(random(W.numel(), 4), W), null, new SgdSpec(0.5, 0, 0, 0, false), true);
            assertConvMatches("after an SGD step", x, w);
            // Backward-data reads the weights through its own (possibly different) cached layout.
            float[] dy = random(X.numel() / 16 * 32, 5);
            Shape ys = Shape.of(2, 32, 7, 7);
            NDArray expected = REF.conv2dBackwardData(ref(dy, ys), ref(w.toFloatArray(), W), X, SPEC);
            NDArray bound = REF.conv2dBackwardData(ref(abs(dy), ys), ref(abs(w.toFloatArray()), W), X, SPEC);
            assertClose("backward-data after updates", expected, CPU.conv2dBackwardData(CPU.fromHost(dy, ys), w, X, SPEC),
                    summationTolerance(32 * 9, bound));
        }
    }

    @Test
    void copiesOfClosedWeightsAreDropped() {
        CpuBackend cpu = (CpuBackend) CPU;
        float[] x = random(X.numel(), 1);
        try (Scope s = Scope.open()) {
            CPU.conv2d(CPU.fromHost(x, X), CPU.fromHost(random(W.numel(), 2), W), null, SPEC);
        }
        int after = -1;
        for (int i = 0; i < 5; i++) {
            try (Scope s = Scope.open()) {
                CPU.conv2d(CPU.fromHost(x, X), CPU.fromHost(random(W.numel(), 10 + i), W), null, SPEC);
                if (after < 0) {
                    after = cpu.cachedWeightCopies();
                }
                assertEquals(after, cpu.cachedWeightCopies(), "cached copies with one live weight buffer per iteration");
            }
        }
    }
}
