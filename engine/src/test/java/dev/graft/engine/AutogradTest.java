package dev.graft.engine;

import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.testing.CountingBackend;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Graph recording, gradient accumulation and the cost of frozen subgraphs. Exact values: F64, small integers. */
class AutogradTest {
    private static final Device R = Device.REFERENCE;

    private static Tensor leaf(double... v) {
        return Tensor.fromArray(R, DType.F64, v, v.length).requiresGrad(true);
    }

    // ---- accumulation -----------------------------------------------------------------------------------

    @Test
    void gradientsAccumulateAcrossBackwardCallsUntilZeroed() {
        try (Scope s = Scope.open()) {
            Tensor x = leaf(1, 2, 3);
            x.mul(3).sum().backward();
            x.mul(3).sum().backward();
            assertArrayEquals(new double[] {6, 6, 6}, x.grad().toDoubleArray());
            x.zeroGrad();
            assertNull(x.grad());
            x.mul(x).sum().backward();
            assertArrayEquals(new double[] {2, 4, 6}, x.grad().toDoubleArray());
        }
    }

    /** d/dx sum(x*x + x + x) = 2x + 2: one leaf reached along three paths, two of them into the same node. */
    @Test
    void aTensorUsedTwiceGetsTheSumOfItsGradients() {
        try (Scope s = Scope.open()) {
            Tensor x = leaf(1, -2, 3);
            x.mul(x).add(x.add(x)).sum().backward();
            assertArrayEquals(new double[] {4, -2, 8}, x.grad().toDoubleArray());
        }
    }

    /** a = 2x used twice downstream: d/dx sum(a + a*a) = 2 (1 + 2a) = 2 + 8x, summed at the interior node. */
    @Test
    void anInteriorNodeUsedTwiceAccumulatesBeforeItsBackwardRuns() {
        try (Scope s = Scope.open()) {
            Tensor x = leaf(1, 0.5, -1);
            Tensor a = x.mul(2);
            a.add(a.mul(a)).sum().backward();
            assertArrayEquals(new double[] {10, 6, -6}, x.grad().toDoubleArray());
        }
    }

    @Test
    void backwardOfALeafScalarSeedsItsGradientWithOne() {
        try (Scope s = Scope.open()) {
            Tensor x = leaf(5);
            x.backward();
            assertArrayEquals(new double[] {1}, x.grad().toDoubleArray());
        }
    }

    // ---- what gets recorded -----------------------------------------------------------------------------

    @Test
    void gradOffRecordsNothingAndNestingRestoresTheMode() {
        try (Scope s = Scope.open()) {
            Tensor x = leaf(1, 2);
            assertTrue(Grad.enabled());
            try (var off = Grad.off()) {
                Tensor y = x.mul(2).relu().sum();
                assertTrue(y.isLeaf());
                assertFalse(y.requiresGrad());
                assertThrows(GraftException.class, y::backward);
                try (var on = Grad.on()) {
                    assertTrue(Grad.enabled());
                    assertFalse(x.mul(2).isLeaf());
                    try (var off2 = Grad.off()) {
                        assertFalse(Grad.enabled());
                        assertTrue(x.mul(2).isLeaf());
                    }
                    assertTrue(Grad.enabled());
                }
                assertFalse(Grad.enabled());
            }
            assertTrue(Grad.enabled());
            assertNull(x.grad());
        }
    }

    @Test
    void gradModeIsPerThread() throws InterruptedException {
        AtomicBoolean elsewhere = new AtomicBoolean();
        try (var off = Grad.off()) {
            Thread t = new Thread(() -> elsewhere.set(Grad.enabled()));
            t.start();
            t.join();
        }
        assertTrue(elsewhere.get());
    }

    @Test
    void aNodeIsRecordedOnlyWhenSomeInputRequiresGrad() {
        try (Scope s = Scope.open()) {
            Tensor frozen = Tensor.fromArray(R, DType.F64, new double[] {1, 2}, 2);
            Tensor y = frozen.mul(frozen).add(frozen);
            assertTrue(y.isLeaf());
            assertFalse(y.requiresGrad());
            Tensor z = y.mul(leaf(1, 1));
            assertFalse(z.isLeaf());
            assertTrue(z.requiresGrad());
            assertTrue(z.detach().isLeaf());
            assertFalse(z.detach().requiresGrad());
            assertThrows(GraftException.class, () -> z.requiresGrad(false), "requiresGrad on a non-leaf");
        }
    }

    /**
     * x (no grad) -> conv1 -> relu -> conv2 -> sum. With conv1's weight frozen nothing before conv2 is
     * recorded: one weight-gradient kernel (conv2's), no data-gradient kernel, no relu backward. With conv1
     * trainable and conv2 frozen: conv2 runs its data gradient only, conv1 its weight gradient only (x needs none).
     */
    @Test
    void frozenWeightsAndInputsWithoutGradRunNoGradientKernels() {
        try (CountingBackend counts = CountingBackend.install(R); Scope s = Scope.open()) {
            Tensor x = Tensor.full(R, DType.F64, 0.3, 1, 2, 5, 5);
            Tensor w1 = Tensor.full(R, DType.F64, 0.1, 3, 2, 3, 3);
            Tensor w2 = Tensor.full(R, DType.F64, 0.1, 2, 3, 3, 3).requiresGrad(true);

            Tensor h = Functional.conv2d(x, w1, null, Conv2dSpec.of(1, 1)).relu();
            assertTrue(h.isLeaf(), "a frozen layer on an input without grad records nothing");
            counts.reset();
            Functional.conv2d(h, w2, null, Conv2dSpec.of(1, 1)).sum().backward();
            assertEquals(1, counts.count("conv2dBackwardWeights"), counts.counts().toString());
            assertEquals(0, counts.count("conv2dBackwardData"), counts.counts().toString());
            assertEquals(0, counts.count("reluBackward"), counts.counts().toString());

            w1.requiresGrad(true);
            w2.requiresGrad(false);
            counts.reset();
            h = Functional.conv2d(x, w1, null, Conv2dSpec.of(1, 1)).relu();
            Functional.conv2d(h, w2, null, Conv2dSpec.of(1, 1)).sum().backward();
            assertEquals(1, counts.count("conv2dBackwardData"), "conv2's input gradient only: " + counts.counts());
            assertEquals(1, counts.count("conv2dBackwardWeights"), "conv1's weight gradient only: " + counts.counts());
            assertEquals(1, counts.count("reluBackward"), counts.counts().toString());
        }
    }

    /** Eval-mode batch norm with frozen affine parameters on an input that needs no grad: no backward kernel. */
    @Test
    void frozenBatchNormRunsNoBackwardKernel() {
        try (CountingBackend counts = CountingBackend.install(R); Scope s = Scope.open()) {
            Tensor x = Tensor.full(R, DType.F64, 0.5, 2, 2, 2, 2);
            Tensor ones = Tensor.full(R, DType.F64, 1, 2);
            Tensor zeros = Tensor.zeros(R, DType.F64, 2);
            Tensor w = leaf(1, 2);
            Tensor y = Functional.batchNorm2d(x, ones, zeros, zeros, ones, false, 0.1, 1e-5);
            assertTrue(y.isLeaf());
            counts.reset();
            Functional.adaptiveAvgPool2d(y, 1).flatten(1).mul(w).sum().backward();
            assertEquals(0, counts.count("batchNormBackward"), counts.counts().toString());
            assertEquals(0, counts.count("globalAvgPoolBackward"), counts.counts().toString());
        }
    }

    // ---- the graph is used once -------------------------------------------------------------------------

    @Test
    void backwardTwiceThroughTheSameGraphIsAClearError() {
        try (Scope s = Scope.open()) {
            Tensor x = leaf(1, 2);
            Tensor loss = x.mul(x).sum();
            loss.backward();
            GraftException e = assertThrows(GraftException.class, loss::backward);
            assertTrue(e.getMessage().contains("second time"), e.getMessage());
        }
    }

    @Test
    void backwardThroughAnAlreadyUsedSubgraphIsAClearError() {
        try (Scope s = Scope.open()) {
            Tensor x = leaf(1, 2);
            Tensor hidden = x.mul(x);
            hidden.sum().backward();
            Tensor again = hidden.mul(2).sum();
            GraftException e = assertThrows(GraftException.class, again::backward);
            assertTrue(e.getMessage().contains("second time"), e.getMessage());
        }
    }
}
