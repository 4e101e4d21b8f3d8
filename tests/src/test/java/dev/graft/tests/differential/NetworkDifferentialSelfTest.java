package dev.graft.tests.differential;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.backend.BackendInterceptor;
import dev.graft.models.BatchNormPolicy;
import dev.graft.models.BlockType;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness can fail: bugs injected into the cpu backend (through an interceptor, so the real kernels stay
 * untouched) are caught, both a slightly wrong gradient and a relu that zeroes a value it should pass, which adopting
 * the tested run's piece could otherwise hide; and on a network with an Inception-style block, average pooling whose
 * corner windows divide by the 4 cells inside the input instead of count_include_pad's 9.
 */
class NetworkDifferentialSelfTest {
    private static final NetworkCase DRAW = new NetworkCase(
            new ResNetConfig(BlockType.BASIC, new int[] {1, 2, 1, 1}, 1, 64, 3, 3, 6, new int[] {6, 12, 24, 48}),
            2, 41, 37, true, null, BatchNormPolicy.TRACK, 5);

    /** The same network as a multi-label draw: binary cross-entropy, unknown targets, positive weights (odd seed). */
    private static final NetworkCase BCE_DRAW = new NetworkCase(DRAW.config(), 2, 41, 37, true, null, BatchNormPolicy.TRACK,
            5, true);
    private static final InceptionDraw INCEPTION = new InceptionDraw(2, 23, 19, 6, 5, 4, 6, 3, 4, true, true, 11);

    /** Runs one kernel's call number {@code which} (counting from 0) through {@code bug}. */
    private static final class Bug extends BackendInterceptor {
        interface Effect {
            void apply(NDArray out);
        }

        private final String kernel;
        private final int which;
        private final Effect effect;
        private int seen;

        private Bug(String kernel, int which, Effect effect) {
            this.kernel = kernel;
            this.which = which;
            this.effect = effect;
        }

        static Bug on(String kernel, int which, Effect effect) {
            return install(Device.CPU, new Bug(kernel, which, effect));
        }

        @Override
        protected Object intercept(Method k, Object[] args, Call call) throws Throwable {
            Object r = call.proceed();
            if (k.getName().equals(kernel) && seen++ == which) {
                effect.apply((NDArray) r);
            }
            return r;
        }
    }

    private static void edit(NDArray a, java.util.function.UnaryOperator<float[]> f) {
        a.backend().copyFromHost(a, f.apply(a.backend().toHostFloats(a)));
    }

    @Test
    void aCleanDrawPasses() {
        NetworkDifferential.Outcome o = NetworkDifferential.run(DRAW, Device.CPU);
        assertTrue(o.failures().isEmpty(), o.report());
    }

    @Test
    void aWeightGradientOffBy1e3IsCaught() {
        NetworkDifferential.Outcome o;
        try (Bug b = Bug.on("conv2dBackwardWeights", 2, a -> edit(a, v -> {
            for (int i = 0; i < v.length; i++) {
                v[i] *= 1.001f;
            }
            return v;
        }))) {
            o = NetworkDifferential.run(DRAW, Device.CPU);
        }
        assertFalse(o.failures().isEmpty(), "a 1e-3 relative error in one weight gradient passed:\n" + o.report());
    }

    @Test
    void aReluThatZeroesALargeValueIsCaughtThoughThePieceIsAdopted() {
        AssertionError e = assertThrows(AssertionError.class, () -> {
            try (Bug b = Bug.on("addRelu", 1, a -> edit(a, v -> {
                int largest = 0;
                for (int i = 0; i < v.length; i++) {
                    largest = v[i] > v[largest] ? i : largest;
                }
                v[largest] = 0;
                return v;
            }))) {
                NetworkDifferential.run(DRAW, Device.CPU);
            }
        });
        assertTrue(e.getMessage().contains("wrong side beyond rounding"), e.getMessage());
    }

    @Test
    void aCleanMultiLabelDrawPasses() {
        assertTrue(BCE_DRAW.posWeight() != null, "the draw exercises positive weights");
        NetworkDifferential.Outcome o = NetworkDifferential.run(BCE_DRAW, Device.CPU);
        assertTrue(o.failures().isEmpty(), o.report());
    }

    /** A binary cross-entropy gradient 1e-3 off (relative) reaches every parameter gradient and is caught. */
    @Test
    void aBceGradientOffBy1e3IsCaught() {
        NetworkDifferential.Outcome o;
        try (Bug b = Bug.on("bceWithLogitsBackward", 0, a -> edit(a, v -> {
            for (int i = 0; i < v.length; i++) {
                v[i] *= 1.001f;
            }
            return v;
        }))) {
            o = NetworkDifferential.run(BCE_DRAW, Device.CPU);
        }
        assertFalse(o.failures().isEmpty(), "a 1e-3 relative error in the bce gradient passed:\n" + o.report());
    }

    /**
     * A loss 1e-4 off (relative) while the logits are right is caught: the allowance the logits' error carries into
     * the loss (max(1, pos_weight) x their error, a few 1e-7 here) stays far below it.
     */
    @Test
    void aBceLossOffBy1e4IsCaught() {
        NetworkDifferential.Outcome o;
        try (Bug b = Bug.on("bceWithLogits", 0, a -> edit(a, v -> {
            v[0] *= 1.0001f;
            return v;
        }))) {
            o = NetworkDifferential.run(BCE_DRAW, Device.CPU);
        }
        assertTrue(o.failures().stream().anyMatch(k -> k.name().equals("loss")), "a 1e-4 relative loss error passed:\n" + o.report());
    }

    @Test
    void aCleanInceptionDrawPasses() {
        NetworkDifferential.Outcome o = NetworkDifferential.run(INCEPTION, Device.CPU);
        assertTrue(o.failures().isEmpty(), o.report());
    }

    @Test
    void anAveragePoolWithTheWrongCornerDivisorIsCaught() {
        NetworkDifferential.Outcome o;
        try (Bug b = Bug.on("avgPool2d", 0, a -> edit(a, v -> {
            int plane = a.shape().dim(2) * a.shape().dim(3);
            for (int i = 0; i < v.length; i += plane) {
                v[i] *= 9f / 4; // the top-left window of a 3x3 / stride 1 / padding 1 pool holds 4 real cells
            }
            return v;
        }))) {
            o = NetworkDifferential.run(INCEPTION, Device.CPU);
        }
        assertFalse(o.failures().isEmpty(), "count_include_pad=False's divisor at the corners passed:\n" + o.report());
    }

    // ---- the bf16 arm ---------------------------------------------------------------------------------------

    @Test
    void aCleanBf16DrawPasses() {
        NetworkDifferential.Outcome o = NetworkDifferential.run(DRAW, Device.CPU, Precision.BF16);
        assertTrue(o.failures().isEmpty(), o.report());
    }

    /** Planted: cpu ignores --precision bf16 (computes fp32) while the oracle rounds to bf16; the difference shows. */
    @Test
    void aCpuThatIgnoresBf16IsCaught() {
        NetworkDifferential.Outcome o = NetworkDifferential.run(DRAW, Device.CPU, Precision.FP32, Precision.BF16);
        assertFalse(o.failures().isEmpty(), "fp32 arithmetic passed as bf16:\n" + o.report());
    }

    /** The converse: cpu's bf16 run is not within float32 rounding of the fp32 oracle, so the bf16 kernels did run. */
    @Test
    void cpuBf16IsNotFp32() {
        NetworkDifferential.Outcome o = NetworkDifferential.run(DRAW, Device.CPU, Precision.BF16, Precision.FP32);
        assertFalse(o.failures().isEmpty(), "cpu's bf16 run is within float32 rounding of fp32:\n" + o.report());
    }

    @Test
    void aBf16WeightGradientOffBy1e3IsCaught() {
        NetworkDifferential.Outcome o;
        try (Bug b = Bug.on("conv2dBackwardWeights", 2, a -> edit(a, v -> {
            for (int i = 0; i < v.length; i++) {
                v[i] *= 1.001f;
            }
            return v;
        }))) {
            o = NetworkDifferential.run(DRAW, Device.CPU, Precision.BF16);
        }
        assertFalse(o.failures().isEmpty(), "a 1e-3 relative error in one bf16 weight gradient passed:\n" + o.report());
    }
}
