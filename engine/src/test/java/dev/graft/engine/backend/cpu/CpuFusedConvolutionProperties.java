package dev.graft.engine.backend.cpu;

import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.abs;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref;
import static dev.graft.engine.backend.cpu.Oracle.summationTolerance;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * {@code conv2dInference} (oneDNN convolution with binary-add and relu post-ops) against the unfused composition
 * {@code relu(conv2d(x, w, b) + residual)} on the reference backend, over the shapes of
 * {@link CpuConvolutionProperties} (groups, dilation, odd strides and padding), with every combination of bias,
 * residual (none, channels-last, row-major), relu, input layout and output (new, channels-last, row-major).
 * Tolerance: {@link Oracle}'s summation bound over C/g*R*S products plus the bias and the residual, plus one
 * more rounding for the reference's separate add (relu is 1-Lipschitz and exact). The oracle is that composition
 * written out in the test and computed in F64; the reference backend's {@code conv2dInference} (the SPI's default,
 * composed in F32) is held to it as well, within its two roundings.
 */
class CpuFusedConvolutionProperties {
    enum Residual { NONE, CHANNELS_LAST, ROW_MAJOR }

    enum Out { NEW, CHANNELS_LAST, ROW_MAJOR }

    /** Row-major F64 data on the reference backend. */
    private static NDArray ref64(float[] data, Shape shape) {
        double[] d = new double[data.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = data[i];
        }
        return REF.fromHost(d, shape, dev.graft.engine.DType.F64);
    }

    @Provide
    Arbitrary<CpuConvolutionProperties.Case> cases() {
        return new CpuConvolutionProperties().cases();
    }

    @Property(tries = 80)
    void fusedEqualsUnfused(@ForAll("cases") CpuConvolutionProperties.Case c, @ForAll Residual residual,
                            @ForAll boolean relu, @ForAll Out out, @ForAll boolean channelsLast, @ForAll long seed) {
        try (Scope scope = Scope.open()) {
            float[] x = random(c.x().numel(), seed);
            float[] w = random(c.wt().numel(), seed + 1);
            float[] b = c.bias() ? random(c.k(), seed + 2) : null;
            float[] r = residual == Residual.NONE ? null : random(c.y().numel(), seed + 3);
            Shape k = Shape.of(c.k());

            // The oracle: the composition written out here, in F64 on the reference backend.
            NDArray expected = REF.conv2d(ref64(x, c.x()), ref64(w, c.wt()), b == null ? null : ref64(b, k), c.spec());
            NDArray bound = REF.conv2d(ref(abs(x), c.x()), ref(abs(w), c.wt()), b == null ? null : ref(abs(b), k), c.spec());
            if (r != null) {
                expected = REF.add(expected, ref64(r, c.y()));
                bound = REF.add(bound, ref(abs(r), c.y()));
            }
            if (relu) {
                expected = REF.relu(expected);
            }

            // The SPI's default (the reference backend's conv2dInference) composes in F32: it rounds the convolution
            // and the sum, each within u of its value, so within 2u * bound of F64 (relu is exact and 1-Lipschitz).
            NDArray refFused = REF.conv2dInference(ref(x, c.x()), ref(w, c.wt()), b == null ? null : ref(b, k),
                    r == null ? null : ref(r, c.y()), relu, c.spec(), null);
            double[] twoRoundings = bound.toDoubleArray();
            for (int i = 0; i < twoRoundings.length; i++) {
                twoRoundings[i] *= 2 * Oracle.U;
            }
            assertClose("reference default conv2dInference " + c, expected, refFused, twoRoundings);

            NDArray res = r == null ? null : cpu(r, c.y(), residual == Residual.CHANNELS_LAST);
            NDArray dst = switch (out) {
                case NEW -> null;
                case CHANNELS_LAST -> CPU.empty(dev.graft.engine.DType.F32, c.y(), Layout.CHANNELS_LAST);
                case ROW_MAJOR -> CPU.empty(dev.graft.engine.DType.F32, c.y(), Layout.ROW_MAJOR);
            };
            NDArray actual = CPU.conv2dInference(cpu(x, c.x(), channelsLast), cpu(w, c.wt()), b == null ? null : cpu(b, k),
                    res, relu, c.spec(), dst);
            if (dst != null) {
                assertSame(dst, actual, "conv2dInference must return the out array it was given");
            }
            long terms = (long) c.cPerGroup() * c.r() * c.s() + (c.bias() ? 1 : 0) + (r != null ? 2 : 0);
            assertClose("fused conv2d " + c + " residual " + residual + " relu " + relu + " out " + out, expected, actual,
                    summationTolerance(terms, bound));
        }
    }
}
