package dev.graft.engine;

import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.testing.Devices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The new ops compose like torchvision: its {@code InceptionA(192, pool_features=32)} (Mixed_5b's shapes) written
 * here with Functional ops and torchvision's names, in eval mode, against torch's float64 output on a [1, 192, 5, 5]
 * input ({@code fixtures/inception_a.txt}, made by {@code engine/src/test/python/make_inception_fixtures.py} with
 * random weights and batch-norm statistics; BasicConv2d is conv without bias, batch norm eps 0.001, relu).
 *
 * <p>Tolerances, per output channel relative to that channel's largest |value| m_c (the branches' scales differ by
 * three orders of magnitude here, and a tolerance scaled by the global maximum would hide the pool branch). F64:
 * 1e-9 m_c (double sums; only the order differs; measured 6e-15). F32: 1e-3 m_c. Conv weights and input are exact
 * in float (int8 times a power of two) and the bn vectors rounded once (6e-8); each of up to three conv-bn-relu
 * layers on a path sums at most L = 96 * 9 = 864 products, rounding by at most gamma(L) ~ 5.2e-5 of sum|terms|,
 * which batch norm may scale by up to 1.5/0.5 = 3 and which random signs make about sqrt(L) ~ 30 times the result:
 * a worst case near 1.4e-2 m_c, a typical one near 1e-5; measured on cpu 2.2e-6 m_c. The wrong divisor
 * (count_include_pad=False) misses by 0.87 on a channel with m_c = 9.5, 90 times the tolerance.
 */
class InceptionABlockTest {
    private static final double BN_EPS = 1e-3;

    static List<Arguments> devicesAndTypes() {
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
    @MethodSource("devicesAndTypes")
    void inceptionAMatchesTorchvision(Device d, DType t) {
        Map<String, double[]> values = new HashMap<>();
        Map<String, int[]> shapes = new HashMap<>();
        load(values, shapes);
        try (Scope s = Scope.open(); var off = Grad.off()) {
            Map<String, Tensor> p = new HashMap<>();
            for (String name : values.keySet()) {
                p.put(name, Tensor.fromArray(d, t, values.get(name), shapes.get(name)));
            }
            Tensor x = p.get("input");
            Tensor branch1x1 = basicConv(p, "branch1x1", x, 0);
            Tensor branch5x5 = basicConv(p, "branch5x5_2", basicConv(p, "branch5x5_1", x, 0), 2);
            Tensor branch3x3dbl = basicConv(p, "branch3x3dbl_3",
                    basicConv(p, "branch3x3dbl_2", basicConv(p, "branch3x3dbl_1", x, 0), 1), 1);
            Tensor branchPool = basicConv(p, "branch_pool", Functional.avgPool2d(x, AvgPool2dSpec.of(3, 1, 1)), 0);
            Tensor y = Functional.concatChannels(branch1x1, branch5x5, branch3x3dbl, branchPool);

            double[] want = values.get("output");
            assertArrayEquals(shapes.get("output"), y.shape().dims(), "output shape");
            int plane = want.length / shapes.get("output")[1];
            double[] got = y.toDoubleArray();
            for (int i = 0; i < got.length; i++) {
                int c = i / plane;
                double max = Arrays.stream(want, c * plane, (c + 1) * plane).map(Math::abs).max().orElseThrow();
                double tol = (t == DType.F64 ? 1e-9 : 1e-3) * max;
                if (!(Math.abs(got[i] - want[i]) <= tol)) {
                    fail("InceptionA on " + d + " " + t + ": output element " + i + " (channel " + i / 25 + ") is " + got[i]
                            + ", torchvision says " + want[i] + " (tolerance " + tol + ")");
                }
            }
        }
    }

    /** torchvision's BasicConv2d: conv (no bias, stride 1, square padding) -> batch norm (eval, eps 0.001) -> relu. */
    private static Tensor basicConv(Map<String, Tensor> p, String name, Tensor x, int padding) {
        Tensor y = Functional.conv2d(x, p.get(name + ".conv.weight"), null, Conv2dSpec.of(1, padding));
        return Functional.relu(Functional.batchNorm2d(y, p.get(name + ".bn.weight"), p.get(name + ".bn.bias"),
                p.get(name + ".bn.running_mean"), p.get(name + ".bn.running_var"), false, 0.1, BN_EPS));
    }

    /** name|shape|encoding|base64: i1 = int8 times 2^-6 (conv weights) or 2^-7 (the input), f8 = float64 LE. */
    private static void load(Map<String, double[]> values, Map<String, int[]> shapes) {
        try (InputStream in = InceptionABlockTest.class.getResourceAsStream("/fixtures/inception_a.txt")) {
            if (in == null) {
                throw new IllegalStateException("missing test resource /fixtures/inception_a.txt");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\\|");
                byte[] bytes = Base64.getDecoder().decode(f[3]);
                double[] v;
                if (f[2].equals("i1")) {
                    double scale = f[0].equals("input") ? 0x1p-7 : 0x1p-6;
                    v = new double[bytes.length];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = bytes[i] * scale;
                    }
                } else {
                    v = new double[bytes.length / 8];
                    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(v);
                }
                values.put(f[0], v);
                shapes.put(f[0], Arrays.stream(f[1].split(",")).mapToInt(Integer::parseInt).toArray());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
