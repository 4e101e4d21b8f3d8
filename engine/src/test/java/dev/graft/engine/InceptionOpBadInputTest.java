package dev.graft.engine;

import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.testing.Devices;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input to avg_pool2d, cat(dim=1) and dropout gets a typed exception that names the op, the rule and the shapes,
 * on every available device, before any kernel runs.
 */
class InceptionOpBadInputTest {

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
    void avgPoolRejectsBadShapesAndWindows(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = z(d, 1, 2, 5, 5);
            rejects(ShapeException.class, () -> Functional.avgPool2d(z(d, 2, 5, 5), AvgPool2dSpec.of(3, 1, 1)),
                    "avg_pool2d", "4-D", "[2, 5, 5]");
            rejects(ShapeException.class, () -> Functional.avgPool2d(x, AvgPool2dSpec.of(3, 1, 2)), "avg_pool2d", "half the kernel");
            rejects(ShapeException.class, () -> Functional.avgPool2d(x, AvgPool2dSpec.of(7, 1, 0)), "avg_pool2d", "must fit");
            rejects(ShapeException.class, () -> Functional.avgPool2d(x, new AvgPool2dSpec(3, 3, 0, 1, 1, 1, true)),
                    "avg_pool2d", "stride must be >= 1");
            rejects(ShapeException.class, () -> Functional.avgPool2d(x, new AvgPool2dSpec(3, 3, 1, 1, -1, 1, false)),
                    "avg_pool2d", "padding >= 0");
            rejects(GraftException.class, () -> Functional.avgPool2d(x, null), "avg_pool2d", "spec is null");
            rejects(DeviceException.class, () -> Functional.avgPool2d(Tensor.zeros(d, DType.I64, 1, 1, 3, 3), AvgPool2dSpec.of(3, 1, 1)),
                    "avg_pool2d", "floating-point");
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void concatRejectsMismatchedInputs(Device d) {
        try (Scope s = Scope.open()) {
            Tensor a = z(d, 2, 3, 4, 4);
            rejects(ShapeException.class, () -> Functional.concatChannels(a, z(d, 2, 3, 4, 5)),
                    "cat(dim=1)", "N, H and W", "[2, 3, 4, 5]");
            rejects(ShapeException.class, () -> Functional.concatChannels(a, z(d, 1, 3, 4, 4)), "cat(dim=1)", "input 1");
            rejects(ShapeException.class, () -> Functional.concatChannels(a, z(d, 2, 3, 16)), "cat(dim=1)", "4-D");
            rejects(GraftException.class, () -> Functional.concatChannels(), "cat(dim=1)", "at least one");
            rejects(GraftException.class, () -> Functional.concatChannels(a, null), "cat(dim=1)", "tensor 1 is null");
            rejects(DeviceException.class, () -> Functional.concatChannels(a, Tensor.zeros(Device.REFERENCE, DType.F64, 2, 3, 4, 4)),
                    "cat(dim=1)");
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void dropoutRejectsBadProbabilities(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = z(d, 2, 3);
            rejects(GraftException.class, () -> Functional.dropout(x, 1.5, true, new SplittableRandom(1)), "dropout", "[0, 1]");
            rejects(GraftException.class, () -> Functional.dropout(x, Double.NaN, true, new SplittableRandom(1)), "dropout", "[0, 1]");
            rejects(GraftException.class, () -> Functional.dropout(x, 0.5, true, null), "dropout", "rng is null");
        }
    }
}
