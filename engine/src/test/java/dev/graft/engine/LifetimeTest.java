package dev.graft.engine;

import dev.graft.engine.backend.Buffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * When storage is freed before its scope closes: gradients of intermediate tensors as soon as backward has
 * used them, and intermediate values of an {@link Scope#openIntermediates} stage when it closes (or, if a
 * recorded backward reads them, once it has). Never a user's tensor, output gradient or leaf gradient.
 */
class LifetimeTest {
    private static final Device R = Device.REFERENCE;

    private static Tensor leaf(double... v) {
        return Tensor.fromArray(R, DType.F64, v, v.length).requiresGrad(true);
    }

    private static Tensor values(double... v) {
        return Tensor.fromArray(R, DType.F64, v, v.length);
    }

    @Test
    void backwardLeavesNoGradientTemporariesBehind() {
        try (Scope step = Scope.open("step")) {
            Tensor x = leaf(1, -2, 3, -4);
            Tensor y = x;
            for (int i = 0; i < 5; i++) {
                y = y.mul(2).relu();
            }
            Tensor dy = values(1, 1, 1, 1);
            int afterForward = step.liveBuffers();
            y.backward(dy);
            // x.grad is the one new buffer: every intermediate gradient was freed once used.
            assertEquals(afterForward + 1, step.liveBuffers(), "buffers after backward");
            assertArrayEquals(new double[] {32, 0, 32, 0}, x.grad().toDoubleArray());
            assertArrayEquals(new double[] {1, 1, 1, 1}, dy.toDoubleArray(), "the caller's output gradient is intact");
            assertArrayEquals(new double[] {32, 0, 96, 0}, y.toDoubleArray(), "forward values are never freed");
        }
    }

    /** Gradients shared by two consumers (add hands its gradient to both inputs) live until both have used them. */
    @Test
    void sharedGradientsSurviveUntilTheirLastConsumer() {
        try (Scope step = Scope.open("step")) {
            Tensor x = leaf(1, 2, 3);
            Tensor a = x.mul(2);
            Tensor b = x.mul(3);
            Tensor c = a.add(b);                 // dc flows unchanged to a and b
            c.add(c).mul(c).sum().backward();    // d/dx (2c * c) = 4c * 5 = 100x
            assertArrayEquals(new double[] {100, 200, 300}, x.grad().toDoubleArray());
            // A second pass accumulates into the gradient the first one adopted.
            Tensor c2 = x.mul(2).add(x.mul(3));
            c2.add(c2).mul(c2).sum().backward();
            assertArrayEquals(new double[] {200, 400, 600}, x.grad().toDoubleArray());
        }
    }

    @Test
    void aLeafGradientOutlivesTheStepThatMadeIt() {
        try (Scope model = Scope.open("model")) {
            Tensor w = leaf(1, 2, 3);
            try (Scope step = Scope.open("step")) {
                w.mul(values(4, 5, 6)).sum().backward();
            }
            assertSame(model, w.gradArray().buffer().owner(), "the gradient belongs to the parameter's scope");
            assertArrayEquals(new double[] {4, 5, 6}, w.grad().toDoubleArray());
        }
    }

    @Test
    void intermediatesAreFreedAtCloseUnlessABackwardPassStillReadsThem() {
        try (Scope step = Scope.open("step")) {
            Tensor x = leaf(-1, 2, -3, 4);
            Tensor scaled;
            Tensor activated;
            Tensor out;
            try (Scope stage = Scope.openIntermediates("stage")) {
                scaled = x.mul(3);            // read by nobody's backward (relu keeps its output)
                activated = scaled.relu();    // relu's backward reads it
                out = stage.keep(activated.mul(2));
            }
            Buffer scaledBuffer = scaled.data().buffer();
            Buffer activatedBuffer = activated.data().buffer();
            assertTrue(scaledBuffer.isClosed(), "an unread intermediate is freed when the stage closes");
            assertFalse(activatedBuffer.isClosed(), "a saved one waits for backward");
            assertSame(step, activatedBuffer.owner(), "... in the enclosing scope");
            assertSame(step, out.data().buffer().owner(), "the kept result moved out");
            out.sum().backward();
            assertTrue(activatedBuffer.isClosed(), "freed once backward has read it");
            assertArrayEquals(new double[] {0, 6, 0, 6}, x.grad().toDoubleArray());
            assertArrayEquals(new double[] {0, 12, 0, 24}, out.toDoubleArray());
        }
    }

    @Test
    void withoutARecordedGraphAStageKeepsOnlyItsResult() {
        try (Scope step = Scope.open("step")) {
            Tensor x = values(-1, 2);
            int before = step.liveBuffers();
            Tensor out;
            try (Scope stage = Scope.openIntermediates("stage")) {
                out = stage.keep(x.mul(3).relu().mul(2));
            }
            assertEquals(before + 1, step.liveBuffers());
            assertArrayEquals(new double[] {0, 12}, out.toDoubleArray());
        }
    }

    /** Saved storage moved out of a stage whose graph is never back-propagated goes with the enclosing scope. */
    @Test
    void savedIntermediatesNeverOutliveTheEnclosingScope() {
        Buffer saved;
        try (Scope step = Scope.open("step")) {
            Tensor x = leaf(1, 2);
            try (Scope stage = Scope.openIntermediates("stage")) {
                Tensor r = x.mul(2).relu();
                saved = r.data().buffer();
                stage.keep(r.sum());
            }
            assertFalse(saved.isClosed());
        }
        assertTrue(saved.isClosed());
    }

    @Test
    void intermediatesNeedAnEnclosingScope() {
        assertThrows(GraftException.class, () -> Scope.openIntermediates("orphan"));
    }

    /** The same computation with and without stages gives bit-identical values and gradients. */
    @Test
    void stagesChangeNoResult() {
        double[][] results = new double[2][];
        for (int staged = 0; staged < 2; staged++) {
            try (Scope step = Scope.open("step")) {
                Tensor x = leaf(0.5, -1.25, 2, 3.5);
                Tensor h = x;
                for (int i = 0; i < 3; i++) {
                    if (staged == 1) {
                        try (Scope s = Scope.openIntermediates("stage " + i)) {
                            h = s.keep(h.mul(h).add(h).relu().mul(0.75));
                        }
                    } else {
                        h = h.mul(h).add(h).relu().mul(0.75);
                    }
                }
                h.sum().backward();
                double[] g = x.grad().toDoubleArray();
                double[] v = h.toDoubleArray();
                results[staged] = new double[g.length + v.length];
                System.arraycopy(g, 0, results[staged], 0, g.length);
                System.arraycopy(v, 0, results[staged], g.length, v.length);
            }
        }
        assertArrayEquals(results[0], results[1]);
    }
}
