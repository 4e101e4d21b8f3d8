package dev.graft.engine;

import dev.graft.engine.testing.Devices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input to layer_norm, gelu, drop_path, roll, pad and the position-embedding resize gets a typed exception that
 * names the op, the rule and the shapes, on every available device, before any kernel runs.
 */
class NormActivationOpBadInputTest {

    static List<Device> devices() {
        return Devices.available();
    }

    private static void rejects(Class<? extends GraftException> type, Executable call, String... fragments) {
        Throwable t = assertThrows(Throwable.class, call);
        if (!type.isInstance(t)) {
            throw new AssertionError("expected " + type.getSimpleName() + " but got " + t, t);
        }
        for (String f : fragments) {
            assertTrue(t.getMessage().contains(f), "message lacks '" + f + "': " + t.getMessage());
        }
    }

    private static Tensor z(Device d, int... shape) {
        return Tensor.zeros(d, DType.F32, shape);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void layerNormRejectsMismatchedParameters(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = z(d, 2, 3, 8);
            rejects(ShapeException.class, () -> Functional.layerNorm(x, z(d, 3), z(d, 3), 1e-5),
                    "layer_norm", "[C]", "[2, 3, 8]", "[3]");
            rejects(ShapeException.class, () -> Functional.layerNorm(x, z(d, 8, 1), z(d, 8), 1e-5), "layer_norm", "[8, 1]");
            rejects(GraftException.class, () -> Functional.layerNorm(x, z(d, 8), null, 1e-5), "layer_norm", "bias is null");
            rejects(GraftException.class, () -> Functional.layerNorm(x, z(d, 8), z(d, 8), 0), "layer_norm", "eps");
            rejects(DeviceException.class, () -> Functional.layerNorm(x, Tensor.zeros(d, DType.I64, 8), z(d, 8), 1e-5),
                    "layer_norm");
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void geluRejectsUnknownApproximation(Device d) {
        try (Scope s = Scope.open()) {
            rejects(GraftException.class, () -> Functional.gelu(z(d, 4), "erf"), "gelu", "\"none\" or \"tanh\"", "erf");
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void rollRejectsBadDims(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = z(d, 2, 5, 5, 3);
            rejects(ShapeException.class, () -> Functional.roll(x, new int[] {1}, new int[] {4}), "roll", "dim 4", "4-D",
                    "[2, 5, 5, 3]");
            rejects(ShapeException.class, () -> Functional.roll(x, new int[] {1, 2}, new int[] {1, -3}), "roll", "distinct");
            rejects(GraftException.class, () -> Functional.roll(x, new int[] {1, 2}, new int[] {1}), "roll", "same");
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void padRejectsNegativeOrTooManyPads(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = z(d, 1, 2, 3, 4);
            rejects(ShapeException.class, () -> Functional.pad(x, 1, -1), "pad", "non-negative", "[1, 2, 3, 4]");
            rejects(ShapeException.class, () -> Functional.pad(x, 1, 1, 1), "pad", "pairs");
            rejects(ShapeException.class, () -> Functional.pad(x, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1), "pad", "pairs");
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void dropPathRejectsBadProbability(Device d) {
        try (Scope s = Scope.open()) {
            rejects(GraftException.class, () -> Functional.dropPath(z(d, 2, 3), 1.5, true, new SplittableRandom(1)),
                    "drop_path", "[0, 1]");
            rejects(GraftException.class, () -> Functional.dropPath(z(d, 2, 3), 0.5, true, null), "drop_path", "rng");
        }
    }

    @Test
    void positionEmbeddingResizeRejectsNonSquareGrids() {
        rejects(ShapeException.class, () -> PositionEmbeddings.resizeSquare(new float[(1 + 15) * 4], 4, 1, 6, true),
                "interpolate_embeddings", "square grid", "16");
        rejects(ShapeException.class, () -> PositionEmbeddings.resizeSquare(new float[10], 4, 1, 6, true),
                "interpolate_embeddings", "whole number");
        rejects(ShapeException.class, () -> PositionEmbeddings.resize(new double[8], 2, 1, 2, 2, 3, 3, true),
                "interpolate_embeddings", "prefix");
    }

    /** timm's DropPath: one keep/drop per sample, kept samples scaled by 1 / (1 - p), eval and p = 0 are identity. */
    @ParameterizedTest
    @MethodSource("devices")
    void dropPathMasksWholeSamples(Device d) {
        try (Scope s = Scope.open()) {
            int n = 64;
            double[] ones = new double[n * 6];
            java.util.Arrays.fill(ones, 1);
            Tensor x = Tensor.fromArray(d, DType.F32, ones, n, 2, 3);
            assertSame(x, Functional.dropPath(x, 0.3, false, new SplittableRandom(1)));
            assertSame(x, Functional.dropPath(x, 0.0, true, new SplittableRandom(1)));
            double[] y = Functional.dropPath(x, 0.25, true, new SplittableRandom(7)).toDoubleArray();
            int dropped = 0;
            for (int i = 0; i < n; i++) {
                double first = y[i * 6];
                assertTrue(first == 0 || Math.abs(first - 1 / 0.75) < 1e-6, "sample " + i + " is " + first);
                for (int k = 1; k < 6; k++) {
                    assertTrue(y[i * 6 + k] == first, "sample " + i + " is not masked as a whole");
                }
                dropped += first == 0 ? 1 : 0;
            }
            assertTrue(dropped > 4 && dropped < 32, dropped + " of 64 samples dropped at p = 0.25");
            double[] again = Functional.dropPath(x, 0.25, true, new SplittableRandom(7)).toDoubleArray();
            assertArrayEquals(y, again, "the same seed repeats the mask");
        }
    }
}
