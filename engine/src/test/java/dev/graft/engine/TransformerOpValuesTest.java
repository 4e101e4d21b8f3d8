package dev.graft.engine;

import dev.graft.engine.backend.Backends;
import dev.graft.engine.testing.Devices;
import dev.graft.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Layer norm, both GELUs, roll and zero padding against PyTorch 1.13 ({@code fixtures/transformer_op_values.txt},
 * made by {@code engine/src/test/python/make_transformer_fixtures.py}) on every available device in F32 and (where
 * supported) F64: outputs and every gradient; and the position-embedding resize against torch's bicubic
 * interpolate, both align_corners modes, up (4x4 to 6x6) and down (4x4 to 3x3).
 *
 * <p>Tolerances: F64 1e-12 + 1e-10 |want| (the same sums in another order; our erf is within 1e-15 of the
 * C library's); F32 1e-5 + 1e-5 |want|: inputs rounded to float, layer-norm rows of at most 8 terms with outputs
 * of magnitude up to ~3 (a few float ulps), GELU at most a few ulps (oneDNN's and CUDA's erf / tanh). Roll and pad
 * copy values, which the same bound covers (they are exact).
 */
class TransformerOpValuesTest {
    private static final Fixtures TORCH = Fixtures.load("/fixtures/transformer_op_values.txt");

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Device d : Devices.available()) {
            for (DType t : new DType[] {DType.F32, DType.F64}) {
                if (Backends.get(d).supports(t)) {
                    out.add(Arguments.of(d, t));
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void layerNormMatchesTorch(Device d, DType t) {
        for (String name : new String[] {"ln3", "ln4"}) {
            double eps = name.equals("ln3") ? 1e-5 : 1e-6;
            try (Scope s = Scope.open()) {
                Tensor x = tensor(d, t, name + ".x").requiresGrad(true);
                Tensor w = tensor(d, t, name + ".w").requiresGrad(true);
                Tensor b = tensor(d, t, name + ".b").requiresGrad(true);
                Tensor y = Functional.layerNorm(x, w, b, eps);
                expect(t, name + ".y", y);
                y.backward(tensor(d, t, name + ".g"));
                expect(t, name + ".dx", x.grad());
                expect(t, name + ".dw", w.grad());
                expect(t, name + ".db", b.grad());
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void geluMatchesTorch(Device d, DType t) {
        unary(d, t, "gelu", Functional::gelu);
        unary(d, t, "gelu_tanh", x -> Functional.gelu(x, "tanh"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void rollMatchesTorch(Device d, DType t) {
        unary(d, t, "roll", x -> Functional.roll(x, new int[] {-3, 6}, new int[] {1, -2}));
        unary(d, t, "roll1", x -> Functional.roll(x, new int[] {7}, new int[] {3}));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void padMatchesTorch(Device d, DType t) {
        unary(d, t, "pad", x -> Functional.pad(x, 1, 2, 0, 3));
        unary(d, t, "padnhwc", x -> Functional.pad(x, 0, 0, 0, 2, 0, 1));
    }

    @Test
    void positionEmbeddingResizeMatchesTorchBicubic() {
        double[] in = TORCH.get("pos.in").values();
        for (int grid : new int[] {6, 3}) {
            for (boolean align : new boolean[] {true, false}) {
                String name = "pos." + grid + "." + (align ? "ac" : "noac");
                double[] want = TORCH.get(name).values();
                double[] got = PositionEmbeddings.resize(in, 6, 1, 4, 4, grid, grid, align);
                compare(name + " (double)", want, got, 1e-12, 1e-10);
                float[] in32 = new float[in.length];
                for (int i = 0; i < in.length; i++) {
                    in32[i] = (float) in[i];
                }
                float[] got32 = PositionEmbeddings.resizeSquare(in32, 6, 1, grid, align);
                double[] g = new double[got32.length];
                for (int i = 0; i < g.length; i++) {
                    g[i] = got32[i];
                }
                compare(name + " (float)", want, g, 1e-6, 1e-6); // float input and output: a few float ulps of values below 2
            }
        }
    }

    private static void unary(Device d, DType t, String name, Function<Tensor, Tensor> op) {
        try (Scope s = Scope.open()) {
            Tensor x = tensor(d, t, name + ".x").requiresGrad(true);
            Tensor y = op.apply(x);
            expect(t, name + ".y", y);
            y.backward(tensor(d, t, name + ".g"));
            expect(t, name + ".dx", x.grad());
        }
    }

    private static Tensor tensor(Device d, DType t, String name) {
        Fixtures.Array a = TORCH.get(name);
        return Tensor.fromArray(d, t, a.values(), a.shape());
    }

    private static void expect(DType t, String name, Tensor got) {
        Fixtures.Array want = TORCH.get(name);
        assertArrayEquals(want.shape(), got.shape().dims(), name + ": shape");
        double atol = t == DType.F64 ? 1e-12 : 1e-5;
        double rtol = t == DType.F64 ? 1e-10 : 1e-5;
        compare(name + " on " + got.device() + " " + t, want.values(), got.toDoubleArray(), atol, rtol);
    }

    private static void compare(String what, double[] want, double[] got, double atol, double rtol) {
        if (want.length != got.length) {
            fail(what + ": " + got.length + " values, torch has " + want.length);
        }
        for (int i = 0; i < got.length; i++) {
            if (!(Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]))) {
                fail(what + ": element " + i + " is " + got[i] + ", torch says " + want[i] + " (atol " + atol + ", rtol " + rtol + ")");
            }
        }
    }
}
