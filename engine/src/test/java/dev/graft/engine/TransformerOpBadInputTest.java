package dev.graft.engine;

import dev.graft.engine.testing.Devices;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input to bmm, linear on tokens, permute / transpose, cat / narrow / split on any axis, softmax, index_select and
 * scaled dot-product attention gets a typed exception naming the op, the rule and the shapes, on every available
 * device, before any kernel runs.
 */
class TransformerOpBadInputTest {

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
    void bmmAndLinearRejectMismatchedShapes(Device d) {
        try (Scope s = Scope.open()) {
            rejects(ShapeException.class, () -> Functional.bmm(z(d, 2, 3, 4), z(d, 2, 5, 6), false, false),
                    "bmm", "inner dimensions", "[2, 3, 4]", "[2, 5, 6]");
            rejects(ShapeException.class, () -> Functional.bmm(z(d, 2, 3, 4), z(d, 2, 5, 4), false, false), "bmm", "inner");
            Functional.bmm(z(d, 2, 3, 4), z(d, 2, 5, 4), false, true); // the same with transB is fine
            rejects(ShapeException.class, () -> Functional.bmm(z(d, 2, 3, 4), z(d, 3, 4, 5), false, false),
                    "bmm", "batch dimensions", "[3, 4, 5]");
            rejects(ShapeException.class, () -> Functional.bmm(z(d, 3, 4), z(d, 4, 5), false, false), "bmm", "at least 3");
            rejects(ShapeException.class, () -> Functional.linear(z(d, 2, 5, 8), z(d, 4, 7), null),
                    "linear", "[..., in]", "[2, 5, 8]", "[4, 7]");
            rejects(ShapeException.class, () -> Functional.linear(z(d, 2, 5, 8), z(d, 4, 8), z(d, 5)), "linear", "bias");
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void layoutOpsRejectBadAxesAndSizes(Device d) {
        try (Scope s = Scope.open()) {
            Tensor x = z(d, 2, 3, 4);
            rejects(ShapeException.class, () -> Functional.permute(x, 0, 1), "permute", "every dimension once", "[2, 3, 4]");
            rejects(ShapeException.class, () -> Functional.permute(x, 0, 1, 1), "permute", "[0, 1, 1]");
            rejects(ShapeException.class, () -> Functional.transpose(x, 0, 3), "transpose", "dim 3");
            rejects(ShapeException.class, () -> Functional.cat(1, x, z(d, 2, 3, 5)), "cat", "every dimension but dim 1", "[2, 3, 5]");
            rejects(ShapeException.class, () -> Functional.cat(0, x, z(d, 3, 4)), "cat", "equal rank");
            rejects(ShapeException.class, () -> Functional.cat(3, x, x), "cat", "dim 3");
            rejects(GraftException.class, () -> Functional.cat(0), "cat", "at least one");
            rejects(ShapeException.class, () -> Functional.narrow(x, 2, 3, 2), "narrow", "start + length", "[2, 3, 4]");
            rejects(ShapeException.class, () -> Functional.narrow(x, -4, 0, 1), "narrow", "dim -4");
            rejects(ShapeException.class, () -> Functional.split(x, 1, 1, 1), "split", "add up", "[1, 1]");
            rejects(ShapeException.class, () -> Functional.split(x, 1, 4, -1), "split", ">= 0");
            rejects(ShapeException.class, () -> Functional.softmax(Tensor.zeros(d, DType.F32)), "softmax", "at least one dimension");
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void indexSelectAndAttentionRejectBadInput(Device d) {
        try (Scope s = Scope.open()) {
            Tensor table = z(d, 169, 3);
            rejects(ShapeException.class, () -> Functional.indexSelect(table, 0, new int[] {0, 169}), "index_select", "169", "[169, 3]");
            rejects(ShapeException.class, () -> Functional.indexSelect(table, 0, new int[] {-1}), "index_select", "-1");
            rejects(DeviceException.class, () -> Functional.indexSelect(table, 0, table), "index_select", "I64");
            Tensor q = z(d, 2, 3, 5, 4);
            rejects(ShapeException.class, () -> Functional.scaledDotProductAttention(q, z(d, 2, 3, 5, 8), q, null, Double.NaN),
                    "scaled_dot_product_attention", "[2, 3, 5, 8]");
            rejects(ShapeException.class, () -> Functional.scaledDotProductAttention(q, q, z(d, 2, 3, 6, 4), null, Double.NaN),
                    "scaled_dot_product_attention", "[2, 3, 6, 4]");
            rejects(ShapeException.class, () -> Functional.scaledDotProductAttention(q, q, q, z(d, 4, 5, 5), Double.NaN),
                    "scaled_dot_product_attention", "bias", "[4, 5, 5]", "[2, 3, 5, 5]");
        }
    }
}
