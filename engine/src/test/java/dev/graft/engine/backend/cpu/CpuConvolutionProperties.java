package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
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

/**
 * Convolution forward, backward-data and backward-weights on cpu against the reference loops: batch 1 and
 * more, odd sizes, stride larger than the kernel, asymmetric stride and padding, dilation, groups (depthwise
 * included), with and without bias, the input row-major or channels-last. Tolerances: {@link Oracle}'s
 * summation bound over the terms each output adds up (forward: C/g*R*S (+1 bias); backward-data: at most
 * K/g*R*S; backward-weights: N*P*Q).
 */
class CpuConvolutionProperties {

    /** One convolution problem; shrinking reduces every size towards 1 and every option towards the plain case. */
    record Case(int n, int groups, int cPerGroup, int kPerGroup, int h, int w, int r, int s, Conv2dSpec spec, boolean bias) {
        int c() {
            return groups * cPerGroup;
        }

        int k() {
            return groups * kPerGroup;
        }

        int p() {
            return Conv2dSpec.outputSize(h, r, spec.strideH(), spec.padH(), spec.dilationH());
        }

        int q() {
            return Conv2dSpec.outputSize(w, s, spec.strideW(), spec.padW(), spec.dilationW());
        }

        Shape x() {
            return Shape.of(n, c(), h, w);
        }

        Shape wt() {
            return Shape.of(k(), cPerGroup, r, s);
        }

        Shape y() {
            return Shape.of(n, k(), p(), q());
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Conv2dSpec> specs = Combinators.combine(
                Arbitraries.integers().between(1, 4), Arbitraries.integers().between(1, 4),
                Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(1, 3), Arbitraries.integers().between(1, 3))
                .as((sh, sw, ph, pw, dh, dw) -> new Conv2dSpec(sh, sw, ph, pw, dh, dw, 1));
        Arbitrary<int[]> sizes = Combinators.combine(
                Arbitraries.integers().between(1, 3), Arbitraries.integers().between(1, 9), Arbitraries.integers().between(1, 9),
                Arbitraries.integers().between(1, 4), Arbitraries.integers().between(1, 4))
                .as((n, h, w, r, s) -> new int[] {n, h, w, r, s});
        // groups 1-4 with 1-5 channels per group; cPerGroup = kPerGroup = 1 with groups > 1 is depthwise.
        Arbitrary<int[]> channels = Combinators.combine(
                Arbitraries.integers().between(1, 4), Arbitraries.integers().between(1, 5), Arbitraries.integers().between(1, 5))
                .as((g, cg, kg) -> new int[] {g, cg, kg});
        return Combinators.combine(sizes, channels, specs, Arbitraries.of(false, true))
                .as((z, ch, sp, bias) -> new Case(z[0], ch[0], ch[1], ch[2], z[1], z[2], z[3], z[4],
                        new Conv2dSpec(sp.strideH(), sp.strideW(), sp.padH(), sp.padW(), sp.dilationH(), sp.dilationW(), ch[0]),
                        bias))
                .filter(c -> c.p() >= 1 && c.q() >= 1);
    }

    @Property(tries = 40)
    void forwardMatchesReference(@ForAll("cases") Case c, @ForAll boolean channelsLast, @ForAll long seed) {
        try (Scope scope = Scope.open()) {
            float[] x = random(c.x().numel(), seed);
            float[] w = random(c.wt().numel(), seed + 1);
            float[] b = c.bias() ? random(c.k(), seed + 2) : null;
            NDArray expected = REF.conv2d(ref(x, c.x()), ref(w, c.wt()), b == null ? null : ref(b, Shape.of(c.k())), c.spec());
            NDArray bound = REF.conv2d(ref(abs(x), c.x()), ref(abs(w), c.wt()), b == null ? null : ref(abs(b), Shape.of(c.k())), c.spec());
            NDArray actual = CPU.conv2d(cpu(x, c.x(), channelsLast), cpu(w, c.wt()), b == null ? null : cpu(b, Shape.of(c.k())), c.spec());
            long terms = (long) c.cPerGroup() * c.r() * c.s() + (c.bias() ? 1 : 0);
            assertClose("conv2d " + c, expected, actual, summationTolerance(terms, bound));
        }
    }

    @Property(tries = 40)
    void backwardDataMatchesReference(@ForAll("cases") Case c, @ForAll boolean channelsLast, @ForAll long seed) {
        try (Scope scope = Scope.open()) {
            float[] dy = random(c.y().numel(), seed);
            float[] w = random(c.wt().numel(), seed + 1);
            NDArray expected = REF.conv2dBackwardData(ref(dy, c.y()), ref(w, c.wt()), c.x(), c.spec());
            NDArray bound = REF.conv2dBackwardData(ref(abs(dy), c.y()), ref(abs(w), c.wt()), c.x(), c.spec());
            NDArray actual = CPU.conv2dBackwardData(cpu(dy, c.y(), channelsLast), cpu(w, c.wt()), c.x(), c.spec());
            long terms = (long) c.kPerGroup() * c.r() * c.s();
            assertClose("conv2d backward-data " + c, expected, actual, summationTolerance(terms, bound));
        }
    }

    @Property(tries = 40)
    void backwardWeightsMatchesReference(@ForAll("cases") Case c, @ForAll boolean channelsLast, @ForAll long seed) {
        try (Scope scope = Scope.open()) {
            float[] dy = random(c.y().numel(), seed);
            float[] x = random(c.x().numel(), seed + 1);
            NDArray expected = REF.conv2dBackwardWeights(ref(dy, c.y()), ref(x, c.x()), c.wt(), c.spec());
            NDArray bound = REF.conv2dBackwardWeights(ref(abs(dy), c.y()), ref(abs(x), c.x()), c.wt(), c.spec());
            NDArray actual = CPU.conv2dBackwardWeights(cpu(dy, c.y(), channelsLast), cpu(x, c.x(), !channelsLast), c.wt(), c.spec());
            long terms = (long) c.n() * c.p() * c.q();
            assertClose("conv2d backward-weights " + c, expected, actual, summationTolerance(terms, bound));
        }
    }
}
