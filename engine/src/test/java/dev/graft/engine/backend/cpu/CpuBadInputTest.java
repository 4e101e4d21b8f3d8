package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.DeviceException;
import dev.graft.engine.Functional;
import dev.graft.engine.Scope;
import dev.graft.engine.ShapeException;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input raises the same typed exception on cpu as on the reference, from the op boundary, before any
 * native call: no JVM crash, no bare runtime exception, and a message that names the op.
 */
class CpuBadInputTest {

    private static Tensor t(Device d, int... shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        return Tensor.fromArray(d, Oracle.random(n, n), shape);
    }

    private static <T extends Throwable> void expect(Class<T> type, String op, Executable e) {
        T thrown = assertThrows(type, e);
        assertTrue(thrown.getMessage().contains(op), "message names " + op + ": " + thrown.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "reference"})
    void shapeErrorsAreTyped(String device) {
        Device d = Device.parse(device);
        try (Scope s = Scope.open()) {
            Tensor x = t(d, 2, 4, 6, 6);
            expect(ShapeException.class, "conv2d", () -> Functional.conv2d(t(d, 4, 6, 6), t(d, 3, 4, 3, 3), null, Conv2dSpec.of(1, 1)));
            expect(ShapeException.class, "conv2d", () -> Functional.conv2d(x, t(d, 3, 3, 3, 3), null, Conv2dSpec.of(1, 1)));
            expect(ShapeException.class, "conv2d", () -> Functional.conv2d(x, t(d, 3, 1, 3, 3), null, Conv2dSpec.of(1, 1, 1, 3)));
            expect(ShapeException.class, "conv2d", () -> Functional.conv2d(x, t(d, 3, 4, 9, 9), null, Conv2dSpec.of(1, 1)));
            expect(ShapeException.class, "conv2d", () -> Functional.conv2d(x, t(d, 3, 4, 3, 3), null, Conv2dSpec.of(1, 0, 4, 1)));
            expect(ShapeException.class, "conv2d", () -> Functional.conv2d(x, t(d, 3, 4, 3, 3), t(d, 4), Conv2dSpec.of(1, 1)));
            expect(ShapeException.class, "add", () -> Functional.add(x, t(d, 3, 1, 1)));
            expect(ShapeException.class, "mul", () -> Functional.mul(t(d, 2, 3), t(d, 3, 2)));
            expect(ShapeException.class, "matmul", () -> Functional.matmul(t(d, 2, 3), t(d, 2, 3), false, false));
            expect(ShapeException.class, "linear", () -> Functional.linear(t(d, 2, 3), t(d, 4, 5), null));
            expect(ShapeException.class, "batch_norm", () -> Functional.batchNorm2d(x, t(d, 3), t(d, 3), null, null, true, 0.1, 1e-5));
            expect(ShapeException.class, "batch_norm", () -> Functional.batchNorm2d(t(d, 1, 4, 1, 1), t(d, 4), t(d, 4), null, null, true, 0.1, 1e-5));
            expect(ShapeException.class, "max_pool2d", () -> Functional.maxPool2d(x, Pool2dSpec.of(2, 2, 2)));
            expect(ShapeException.class, "max_pool2d", () -> Functional.maxPool2d(x, Pool2dSpec.of(9, 1, 0)));
            expect(ShapeException.class, "max_pool2d", () -> Functional.maxPool2d(t(d, 4, 6), Pool2dSpec.of(2, 2, 0)));
            expect(ShapeException.class, "nll_loss", () -> Functional.crossEntropy(t(d, 2, 3), new int[] {0, 3}));
            expect(ShapeException.class, "nll_loss", () -> Functional.crossEntropy(t(d, 2, 3), new int[] {0}));
            expect(ShapeException.class, "reshape", () -> Functional.reshape(x, 5, -1));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "reference"})
    void deviceErrorsAreTyped(String device) {
        Device d = Device.parse(device);
        Device other = d.equals(Device.CPU) ? Device.REFERENCE : Device.CPU;
        try (Scope s = Scope.open()) {
            expect(DeviceException.class, "add", () -> Functional.add(t(d, 2, 3), t(other, 2, 3)));
            expect(DeviceException.class, "conv2d", () -> Functional.conv2d(t(d, 1, 2, 4, 4), t(other, 2, 2, 3, 3), null, Conv2dSpec.of(1, 1)));
            expect(DeviceException.class, "relu", () -> Functional.relu(Tensor.fromLongs(d, new long[] {1, 2}, 2)));
        }
    }

    @org.junit.jupiter.api.Test
    void cpuRefusesF64WithAHint() {
        try (Scope s = Scope.open()) {
            DeviceException e = assertThrows(DeviceException.class,
                    () -> Tensor.fromArray(Device.CPU, DType.F64, new double[] {1, 2}, 2));
            assertTrue(e.getMessage().contains("reference"), e.getMessage());
            assertThrows(DeviceException.class, () -> Tensor.zeros(Device.CPU, DType.F64, 2));
        }
    }
}
