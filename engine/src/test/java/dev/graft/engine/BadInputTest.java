package dev.graft.engine;

import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.testing.Devices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Bad input gets a typed exception whose message names the op, the shapes and the rule, on every available
 * device (the same body; {@link Devices#available}). Never a JVM crash, and never a bare
 * NullPointerException, ArrayIndexOutOfBoundsException or IllegalArgumentException: {@link #rejects} fails
 * on any exception that is not the expected {@link GraftException} subtype.
 */
class BadInputTest {

    static List<Device> devices() {
        return Devices.available();
    }

    /** {@code call} throws exactly {@code type} (or a subtype) with every fragment in its message. */
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

    private static Tensor longs(Device d, int... shape) {
        return Tensor.zeros(d, DType.I64, shape);
    }

    // ---- elementwise --------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void elementwise(Device d) {
        try (Scope s = Scope.open()) {
            rejects(ShapeException.class, () -> z(d, 2, 3).add(z(d, 4)), "add", "[2, 3]", "[4]", "broadcast");
            rejects(ShapeException.class, () -> z(d, 3, 1).add(z(d, 1, 4)), "add", "[3, 1]", "[1, 4]");
            rejects(ShapeException.class, () -> z(d, 2, 3).mul(z(d, 2)), "mul", "[2, 3]", "[2]");
            rejects(ShapeException.class, () -> z(d, 1, 3, 4, 4).add(z(d, 2, 1, 1)), "add", "[1, 3, 4, 4]", "[2, 1, 1]");
            rejects(DeviceException.class, () -> z(d, 2).add(longs(d, 2)), "add", "dtypes", "F32", "I64");
            rejects(DeviceException.class, () -> longs(d, 2).relu(), "relu", "floating-point", "I64");
            rejects(DeviceException.class, () -> longs(d, 2).mul(2.0), "floating-point");
            rejects(GraftException.class, () -> z(d, 2).add(null), "add", "b is null");
            // Zero-size operands are legal, as in PyTorch: an empty result.
            assertArrayEquals(new int[] {0, 3}, z(d, 0, 3).add(z(d, 3)).shape().dims());
            assertEquals(0.0, z(d, 0, 3).sum().item());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void mixedDTypes(Device d) {
        assumeTrue(Backends.get(d).supports(DType.F64), d + " has no F64 to mix with F32");
        try (Scope s = Scope.open()) {
            Tensor f64 = Tensor.zeros(d, DType.F64, 2, 2);
            rejects(DeviceException.class, () -> z(d, 2, 2).add(f64), "add", "F32", "F64");
            rejects(DeviceException.class, () -> Functional.matmul(z(d, 2, 2), f64, false, false), "matmul", "dtypes");
            rejects(DeviceException.class, () -> Functional.conv2d(z(d, 1, 1, 3, 3), Tensor.zeros(d, DType.F64, 1, 1, 1, 1),
                    null, Conv2dSpec.of(1, 0)), "conv2d", "dtypes");
        }
    }

    /** Needs a second device; with only the reference backend available it is skipped. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void mixedDevices(Device d) {
        List<Device> others = devices().stream().filter(o -> !o.equals(d)).toList();
        assumeTrue(!others.isEmpty(), "only " + d + " is available");
        try (Scope s = Scope.open()) {
            for (Device o : others) {
                rejects(DeviceException.class, () -> z(d, 2).add(z(o, 2)), "add", "different devices", d.toString(), o.toString());
                rejects(DeviceException.class, () -> Functional.linear(z(d, 2, 3), z(o, 4, 3), null), "matmul", "different devices");
                rejects(DeviceException.class, () -> Functional.batchNorm2d(z(d, 2, 3, 2, 2), z(o, 3), z(d, 3), null, null,
                        true, 0.1, 1e-5), "batch_norm", "different devices");
            }
        }
    }

    // ---- matmul and linear --------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void matmulAndLinear(Device d) {
        try (Scope s = Scope.open()) {
            rejects(ShapeException.class, () -> Functional.matmul(z(d, 2, 3, 4), z(d, 4, 2), false, false), "matmul", "2-D", "[2, 3, 4]");
            rejects(ShapeException.class, () -> z(d, 2, 3).matmul(z(d, 4, 5)), "matmul", "inner dimensions", "[2, 3]", "[4, 5]");
            rejects(ShapeException.class, () -> Functional.matmul(z(d, 2, 3), z(d, 2, 3), false, false), "matmul", "inner");
            rejects(ShapeException.class, () -> Functional.matmul(z(d, 3, 2), z(d, 4, 5), true, false), "after transposes", "a^T [3, 2]");
            rejects(ShapeException.class, () -> Functional.linear(z(d, 2, 3), z(d, 4, 5), null), "linear", "[2, 3]", "[4, 5]");
            rejects(ShapeException.class, () -> Functional.linear(z(d, 2, 3), z(d, 4, 3), z(d, 3)), "linear", "bias", "[3]");
            rejects(ShapeException.class, () -> Functional.linear(z(d, 6), z(d, 4, 6), null), "linear", "[N, in]", "[6]");
        }
    }

    // ---- convolution --------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void conv2d(Device d) {
        Conv2dSpec plain = Conv2dSpec.of(1, 0);
        try (Scope s = Scope.open()) {
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 3, 5), z(d, 4, 3, 3, 3), null, plain),
                    "conv2d", "4-D", "[1, 3, 5]");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 3, 5, 5), z(d, 4, 1, 3, 3), null, Conv2dSpec.of(1, 0, 1, 2)),
                    "conv2d", "divisible by groups", "[1, 3, 5, 5]", "groups 2");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 4, 5, 5), z(d, 3, 2, 3, 3), null, Conv2dSpec.of(1, 0, 1, 2)),
                    "conv2d", "divisible by groups", "[3, 2, 3, 3]");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 4, 5, 5), z(d, 4, 3, 3, 3), null, plain),
                    "conv2d", "weight dim 1", "[1, 4, 5, 5]", "[4, 3, 3, 3]");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 1, 3, 3), z(d, 1, 1, 5, 5), null, plain),
                    "conv2d", "fit in the padded input", "[1, 1, 3, 3]", "[1, 1, 5, 5]");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 1, 4, 4), z(d, 1, 1, 3, 3), null, Conv2dSpec.of(1, 0, 2, 1)),
                    "conv2d", "dilated", "dilationH=2");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 1, 5, 5), z(d, 1, 1, 3, 3), null, Conv2dSpec.of(0, 0)),
                    "conv2d", "stride", "strideH=0");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 1, 5, 5), z(d, 1, 1, 3, 3), null, Conv2dSpec.of(1, -1)),
                    "conv2d", "padding >= 0", "padH=-1");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 1, 5, 5), z(d, 1, 1, 3, 3), null, Conv2dSpec.of(1, 0, 1, 0)),
                    "conv2d", "groups", "groups=0");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 1, 5, 5), z(d, 4, 1, 3, 3), z(d, 3), plain),
                    "conv2d", "bias", "[4, 1, 3, 3]", "[3]");
            rejects(DeviceException.class, () -> Functional.conv2d(z(d, 1, 1, 3, 3), longs(d, 1, 1, 1, 1), null, plain),
                    "conv2d", "dtypes");
            rejects(GraftException.class, () -> Functional.conv2d(z(d, 1, 1, 3, 3), z(d, 1, 1, 1, 1), null, null),
                    "conv2d", "spec is null");
        }
    }

    /** Zero-size dimensions, and sizes where int arithmetic would wrap around. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void conv2dZeroSizesAndOverflow(Device d) {
        try (Scope s = Scope.open()) {
            for (int[] x : new int[][] {{0, 1, 5, 5}, {1, 0, 5, 5}, {1, 1, 0, 5}, {1, 1, 5, 0}}) {
                int c = Math.max(x[1], 1);
                rejects(ShapeException.class, () -> Functional.conv2d(z(d, x), z(d, 1, c, 1, 1), null, Conv2dSpec.of(1, 1)),
                        "conv2d", "zero-size", java.util.Arrays.toString(x));
            }
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 1, 5, 5), z(d, 0, 1, 1, 1), null, Conv2dSpec.of(1, 0)),
                    "conv2d", "zero-size", "[0, 1, 1, 1]");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 1, 5, 5), z(d, 1, 1, 0, 3), null, Conv2dSpec.of(1, 0)),
                    "conv2d", "zero-size", "[1, 1, 0, 3]");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 1, 3, 3), z(d, 1, 1, 3, 3), null,
                    Conv2dSpec.of(1, 0, 1 << 30, 1)), "conv2d", "fit", "dilationH=1073741824");
            rejects(ShapeException.class, () -> Functional.conv2d(z(d, 1, 1, 3, 3), z(d, 1, 1, 3, 3), null,
                    Conv2dSpec.of(1, Integer.MAX_VALUE)), "conv2d", "output would have", "elements");
        }
    }

    // ---- pooling ------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void maxPool2d(Device d) {
        try (Scope s = Scope.open()) {
            rejects(ShapeException.class, () -> Functional.maxPool2d(z(d, 1, 4, 4), Pool2dSpec.of(2, 2, 0)), "max_pool2d", "4-D", "[1, 4, 4]");
            rejects(ShapeException.class, () -> Functional.maxPool2d(z(d, 1, 1, 2, 2), Pool2dSpec.of(3, 1, 0)),
                    "max_pool2d", "fit", "[1, 1, 2, 2]", "kernelH=3");
            rejects(ShapeException.class, () -> Functional.maxPool2d(z(d, 1, 1, 4, 4), Pool2dSpec.of(2, 2, 2)),
                    "max_pool2d", "at most half the kernel", "padH=2");
            rejects(ShapeException.class, () -> Functional.maxPool2d(z(d, 1, 1, 4, 4), Pool2dSpec.of(2, 0, 0)), "max_pool2d", "stride", "strideH=0");
            rejects(ShapeException.class, () -> Functional.maxPool2d(z(d, 1, 1, 4, 4), Pool2dSpec.of(0, 1, 0)), "max_pool2d", "kernel", "kernelH=0");
            rejects(ShapeException.class, () -> Functional.maxPool2d(z(d, 1, 1, 4, 4), Pool2dSpec.of(3, 1, -1)), "max_pool2d", "padding", "padH=-1");
            rejects(ShapeException.class, () -> Functional.maxPool2d(z(d, 1, 1, 0, 4), Pool2dSpec.of(1, 1, 0)), "max_pool2d", "[1, 1, 0, 4]");
            rejects(ShapeException.class, () -> Functional.maxPool2d(z(d, 0, 1, 4, 4), Pool2dSpec.of(1, 1, 0)), "max_pool2d", "[0, 1, 4, 4]");
            rejects(DeviceException.class, () -> Functional.maxPool2d(longs(d, 1, 1, 4, 4), Pool2dSpec.of(2, 2, 0)), "max_pool2d", "I64");
        }
    }

    /** Used to wrap 2 * pad to a negative int, pass the check, and loop 2^62 times. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void maxPool2dHugePaddingIsRefusedQuickly(Device d) {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try (Scope s = Scope.open()) {
                int big = Integer.MAX_VALUE;
                rejects(ShapeException.class, () -> Functional.maxPool2d(z(d, 1, 1, 3, 3), new Pool2dSpec(big, big, 1 << 30, 1 << 30, 1 << 30, 1 << 30)),
                        "max_pool2d", "at most half the kernel");
                rejects(ShapeException.class, () -> Functional.maxPool2d(z(d, 1, 1, 3, 3), new Pool2dSpec(big, 3, 1, 1, 0, 0)),
                        "max_pool2d", "fit");
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void adaptiveAvgPool2d(Device d) {
        try (Scope s = Scope.open()) {
            rejects(ShapeException.class, () -> Functional.adaptiveAvgPool2d(z(d, 1, 2, 4, 4), 2), "adaptive_avg_pool2d", "output size 1", "2");
            rejects(ShapeException.class, () -> Functional.adaptiveAvgPool2d(z(d, 2, 4), 1), "adaptive_avg_pool2d", "4-D", "[2, 4]");
            rejects(ShapeException.class, () -> Functional.adaptiveAvgPool2d(z(d, 1, 2, 0, 4), 1), "adaptive_avg_pool2d", "H, W >= 1", "[1, 2, 0, 4]");
        }
    }

    // ---- batch norm ---------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void batchNorm(Device d) {
        try (Scope s = Scope.open()) {
            Tensor c3 = z(d, 3);
            rejects(ShapeException.class, () -> Functional.batchNorm2d(z(d, 2, 3), c3, c3, c3, c3, true, 0.1, 1e-5),
                    "batch_norm", "4-D", "[2, 3]");
            rejects(ShapeException.class, () -> Functional.batchNorm2d(z(d, 2, 4, 2, 2), c3, z(d, 4), null, null, true, 0.1, 1e-5),
                    "batch_norm", "[C]", "[2, 4, 2, 2]", "[3]");
            rejects(ShapeException.class, () -> Functional.batchNorm2d(z(d, 2, 3, 2, 2), c3, c3, c3, z(d, 1, 3), false, 0.1, 1e-5),
                    "batch_norm", "[C]", "[1, 3]");
            rejects(ShapeException.class, () -> Functional.batchNorm2d(z(d, 1, 3, 1, 1), c3, c3, c3, c3, true, 0.1, 1e-5),
                    "batch_norm", "more than 1 value per channel", "[1, 3, 1, 1]");
            rejects(ShapeException.class, () -> Functional.batchNorm2d(z(d, 0, 3, 2, 2), c3, c3, null, null, true, 0.1, 1e-5),
                    "batch_norm", "more than 1 value per channel", "[0, 3, 2, 2]");
            rejects(ShapeException.class, () -> Functional.batchNorm2d(z(d, 2, 3, 2, 2), c3, c3, null, null, false, 0.1, 1e-5),
                    "batch_norm", "eval mode needs running mean and variance");
            rejects(DeviceException.class, () -> Functional.batchNorm2d(z(d, 2, 3, 2, 2), c3, c3, longs(d, 3), longs(d, 3), true, 0.1, 1e-5),
                    "batch_norm", "dtypes", "I64");
            rejects(DeviceException.class, () -> Functional.batchNorm2d(longs(d, 2, 3, 2, 2), null, null, null, null, true, 0.1, 1e-5),
                    "batch_norm", "floating-point");
        }
    }

    // ---- classification loss -------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void logSoftmaxAndLosses(Device d) {
        try (Scope s = Scope.open()) {
            Tensor logits = z(d, 2, 3);
            rejects(ShapeException.class, () -> Functional.logSoftmax(z(d, 2, 3, 4)), "log_softmax", "[N, C]", "[2, 3, 4]");
            rejects(ShapeException.class, () -> Functional.logSoftmax(z(d, 2, 0)), "log_softmax", "C >= 1", "[2, 0]");
            rejects(ShapeException.class, () -> Functional.crossEntropy(logits, new int[] {0, 3}), "nll_loss", "[0, 3)", "label 1 3");
            rejects(ShapeException.class, () -> Functional.crossEntropy(logits, new int[] {-1, 0}), "nll_loss", "[0, 3)", "label 0 -1");
            rejects(ShapeException.class, () -> Functional.crossEntropy(logits, new int[] {0, 1, 2}), "nll_loss", "one label per row", "[2, 3]", "labels 3");
            rejects(ShapeException.class, () -> Functional.crossEntropy(z(d, 0, 3), new int[0]), "nll_loss", "non-empty", "[0, 3]");
            rejects(ShapeException.class, () -> Functional.crossEntropy(logits, new int[] {0, 1}, new float[] {1, 1}, 0),
                    "nll_loss", "one class weight per class", "classes 3", "weights 2");
            rejects(ShapeException.class, () -> Functional.crossEntropy(logits, new int[] {0, 0}, new float[] {0, 1, 1}, 0),
                    "nll_loss", "positive sum");
            for (double eps : new double[] {-0.1, 1.5, Double.NaN}) {
                rejects(ShapeException.class, () -> Functional.crossEntropy(logits, new int[] {0, 1}, null, eps),
                        "nll_loss", "label smoothing must be in [0, 1]", String.valueOf(eps));
            }
            rejects(ShapeException.class, () -> Functional.nllLoss(z(d, 6), new int[] {0}, null, 0), "nll_loss", "[N, C]", "[6]");
            rejects(GraftException.class, () -> Functional.crossEntropy(logits, null), "nll_loss", "labels is null");
        }
    }

    // ---- shapes, reshape, reductions -------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void reshapeFlattenAndReductions(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = z(d, 2, 3);
            rejects(ShapeException.class, () -> x.reshape(4), "reshape", "as many elements", "[2, 3]", "[4]");
            rejects(ShapeException.class, () -> x.reshape(-1, -1), "reshape", "at most one -1");
            rejects(ShapeException.class, () -> x.reshape(-2, -3), "reshape", ">= 0");
            rejects(ShapeException.class, () -> x.reshape(4, -1), "reshape", "cannot infer", "[2, 3]");
            rejects(ShapeException.class, () -> z(d, 0, 3).reshape(0, -1), "reshape", "cannot infer", "[0, 3]");
            rejects(ShapeException.class, () -> x.flatten(2), "flatten", "startDim", "[2, 3]");
            rejects(ShapeException.class, () -> x.flatten(-3), "flatten", "startDim");
            rejects(ShapeException.class, () -> x.flatten(Integer.MIN_VALUE), "flatten", "startDim");
            rejects(ShapeException.class, () -> Functional.sumTo(x, 4), "sumTo", "broadcast", "[2, 3]", "[4]");
            rejects(ShapeException.class, () -> Functional.sumTo(x, 1, 2, 3), "sumTo", "[1, 2, 3]");
            rejects(ShapeException.class, () -> z(d, 0, 3).mean(), "mean", "at least one element", "[0, 3]");
            rejects(DeviceException.class, () -> longs(d, 3).sum(), "sum", "floating-point");
            rejects(ShapeException.class, () -> x.dim(2), "dimension 2", "rank-2");
        }
    }

    // ---- creation -----------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void creation(Device d) {
        try (Scope s = Scope.open()) {
            rejects(ShapeException.class, () -> z(d, 2, -3), "[2, -3]", "negative");
            rejects(ShapeException.class, () -> Tensor.full(d, DType.I64, 1, -1), "[-1]", "negative");
            rejects(ShapeException.class, () -> Tensor.fromArray(d, new float[5], 2, 3), "fromArray", "length 5", "[2, 3]");
            rejects(ShapeException.class, () -> Tensor.fromLongs(d, new long[1], 2), "fromArray", "length 1", "[2]");
            rejects(ShapeException.class, () -> z(d, 65536, 65536, 65536, 65536), "at least 2^32", "elements");
            rejects(ShapeException.class, () -> z(d, 65536, 32768), "2147483648 elements");
            rejects(GraftException.class, () -> Tensor.fromArray(d, (float[]) null, 2), "fromArray", "data is null");
            if (!Backends.get(d).supports(DType.F64)) {
                rejects(DeviceException.class, () -> Tensor.fromArray(d, DType.F64, new double[1], 1), d.toString(), "F64");
            }
            assertArrayEquals(new int[] {65536, 65536, 0}, z(d, 65536, 65536, 0).shape().dims(), "a zero size makes an empty tensor");
        }
    }

    @Test
    void unknownOrMissingDevices() {
        rejects(DeviceException.class, () -> Device.parse("tpu"), "unknown device 'tpu'");
        rejects(DeviceException.class, () -> Backends.resolve("cuda:x"), "unknown device");
        try (Scope s = Scope.open()) {
            rejects(DeviceException.class, () -> Tensor.zeros(Device.cuda(7), DType.F32, 2), "cuda:7");
            rejects(DeviceException.class, () -> z(Device.REFERENCE, 2).to(Device.cuda(7)), "cuda:7");
        }
    }

    // ---- scalars and backward -------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("devices")
    void scalarsAndBackward(Device d) {
        try (Scope s = Scope.open()) {
            rejects(ShapeException.class, () -> z(d, 2).item(), "item", "one-element", "[2]");
            rejects(ShapeException.class, () -> z(d, 0).item(), "item", "[0]");
            assertEquals(0.0, z(d, 1, 1).item());
            Tensor w = z(d, 3).requiresGrad(true);
            rejects(ShapeException.class, () -> w.mul(2.0).backward(), "backward", "scalar", "[3]");
            rejects(GraftException.class, () -> z(d, 1).sum().backward(), "does not require grad");
            rejects(ShapeException.class, () -> w.mul(2.0).backward(z(d, 2)), "backward", "[3]", "[2]");
            rejects(DeviceException.class, () -> w.mul(2.0).backward(longs(d, 3)), "backward", "dtype", "I64");
            rejects(GraftException.class, () -> longs(d, 2).requiresGrad(true), "floating-point", "I64");
            rejects(GraftException.class, () -> w.mul(2.0).requiresGrad(false), "leaf");
        }
    }
}
