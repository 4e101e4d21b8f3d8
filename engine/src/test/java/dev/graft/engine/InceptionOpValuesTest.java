package dev.graft.engine;

import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.testing.Devices;
import dev.graft.engine.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * InceptionV3's ops against PyTorch 1.13 ({@code fixtures/inception_op_values.txt}, made by
 * {@code engine/src/test/python/make_inception_fixtures.py}) on every available device: avg_pool2d with
 * count_include_pad True and False (3x3 stride 1 padding 1, and a 3x2 window at stride (2, 1) with padding (1, 1)),
 * forward and input gradient; 1x7 and 3x1 convolutions with torchvision's one-axis paddings, output and all three
 * gradients.
 *
 * <p>Tolerances as ForwardValuesTest's: F64 1e-12 + 1e-10 |want| (only the summation order differs); F32 2e-5 +
 * 1e-5 |want| (inputs in [-1, 1] rounded to float, sums of at most 21 terms, plus one division for the pool).
 */
class InceptionOpValuesTest {
    private static final Fixtures TORCH = Fixtures.load("/fixtures/inception_op_values.txt");

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Device d : Devices.available()) {
            for (DType t : new DType[] {DType.F32, DType.F64}) {
                if (Backends.get(d).supports(t)) {
                    for (boolean include : new boolean[] {true, false}) {
                        out.add(Arguments.of(d, t, include));
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} {1} count_include_pad={2}")
    @MethodSource("cases")
    void avgPool2dMatchesTorch(Device d, DType t, boolean include) {
        String tag = include ? "incl" : "excl";
        pool(d, t, "avg3." + tag, AvgPool2dSpec.of(3, 1, 1, include));
        pool(d, t, "avgr." + tag, new AvgPool2dSpec(3, 2, 2, 1, 1, 1, include));
    }

    @ParameterizedTest(name = "{0} {1} 1x7={2} (else 3x1)")
    @MethodSource("cases")
    void asymmetricConvolutionsMatchTorch(Device d, DType t, boolean oneBySeven) {
        String name = oneBySeven ? "conv1x7" : "conv3x1";
        Conv2dSpec spec = oneBySeven ? new Conv2dSpec(1, 1, 0, 3, 1, 1, 1) : new Conv2dSpec(1, 1, 1, 0, 1, 1, 1);
        try (Scope s = Scope.open()) {
            Tensor x = tensor(d, t, name + ".x").requiresGrad(true);
            Tensor w = tensor(d, t, name + ".w").requiresGrad(true);
            Tensor b = tensor(d, t, name + ".b").requiresGrad(true);
            Tensor y = Functional.conv2d(x, w, b, spec);
            expect(t, name + ".y", y);
            y.backward(tensor(d, t, name + ".g"));
            expect(t, name + ".dx", x.grad());
            expect(t, name + ".dw", w.grad());
            expect(t, name + ".db", b.grad());
        }
    }

    private static void pool(Device d, DType t, String name, AvgPool2dSpec spec) {
        try (Scope s = Scope.open()) {
            Tensor x = tensor(d, t, name + ".x").requiresGrad(true);
            Tensor y = Functional.avgPool2d(x, spec);
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
        double atol = t == DType.F64 ? 1e-12 : 2e-5;
        double rtol = t == DType.F64 ? 1e-10 : 1e-5;
        double[] g = got.toDoubleArray();
        for (int i = 0; i < g.length; i++) {
            double w = want.values()[i];
            if (!(Math.abs(g[i] - w) <= atol + rtol * Math.abs(w))) {
                fail(name + " on " + got.device() + " " + t + ": element " + i + " is " + g[i] + ", torch says " + w
                        + " (atol " + atol + ", rtol " + rtol + ")");
            }
        }
    }
}
