package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.abs;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.integers;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref64;
import static dev.graft.engine.backend.cpu.Oracle.summationTolerance;

/**
 * Convolution forward, backward-data and backward-weights on cpu against the reference in F64, at the shapes of
 * ResNet's layer3 and layer4 (CpuConvolutionProperties stops at 20 channels and 9x9 maps; oneDNN
 * chooses its kernels and blockings by shape, at these sizes it picks brgemm kernels for ungrouped convolutions and
 * jit ones for grouped, on avx512_core).
 *
 * <p>Shapes. Input and output channels from {64, 128, 256, 512} (weighted 3:3:2:2, as the reference's cost grows
 * with their product), chosen independently, which covers ResNet's C -> C, C -> 2C and the bottleneck's
 * 4:1 ratios; or a ResNeXt-like grouped convolution, 32 groups with C = K (2 to 16 channels per group). Kernels: 3x3
 * padding 1 stride 1 and 2, 1x1 stride 1 and 2 (the downsample; its weight gradient runs through
 * {@link CpuConvolution#routesStridedPointwise}). Output maps 1x1 to 7x7 (the input up to 14x14 at stride 2, as
 * layer4's first block), H and W independent; batch 1 to 4, then cut to the largest batch that keeps the
 * reference within {@link #MAX_MACS} multiply-adds per pass (one layer4 3x3 512 -> 512 convolution at batch 1 and
 * 7x7 is 115.6 M), so the properties run in seconds. The input (dy for backward-data) is row-major or
 * channels-last, as an image batch or an activation arrives.
 *
 * <p>Values and tolerances. Two kinds of data, each checking what the other cannot:
 * <ul>
 *   <li>Floats uniform in [-1, 1]: {@link Oracle}'s summation bound, per element, gamma(L) times the reference's
 *       result on |inputs| (the exact sum of |terms|), with L the terms one output adds up: forward C/g*R*S (+1 with
 *       the bias), backward-data K/g*R*S, backward-weights N*P*Q. This models the real effect, float rounding in
 *       whatever order and blocking oneDNN sums in. At L = 4608 (512 channels, 3x3) it is about 0.3 per element,
 *       so it catches a lost or misplaced kernel tap or channel block (which moves an output by the sum of 64 to
 *       512 terms of random sign, about 3 to 8), not necessarily one lost product (about 0.25).</li>
 *   <li>Small integers in [-8, 8] (weights, inputs and output gradients, and the bias): every product and every
 *       partial sum, in any order, with or without FMA, is an integer of magnitude at most 64 * 4609 < 2^24, so
 *       exact in float: the cpu result must equal the reference's bit for bit, and one misplaced product shows
 *       (unless it is 0 or equal to the right one).</li>
 * </ul>
 */
class CpuRealisticConvolutionProperties {
    /** Reference multiply-adds per pass: the cost budget that caps the batch (the reference runs twice on floats). */
    static final long MAX_MACS = 120_000_000L;

    enum Kernel {
        CONV3X3(3, 1, 1), CONV3X3_STRIDE2(3, 2, 1), CONV1X1(1, 1, 0), CONV1X1_STRIDE2(1, 2, 0);

        final int size;
        final int stride;
        final int pad;

        Kernel(int size, int stride, int pad) {
            this.size = size;
            this.stride = stride;
            this.pad = pad;
        }
    }

    record Case(int n, int c, int k, int groups, int h, int w, Kernel kernel) {
        Conv2dSpec spec() {
            return new Conv2dSpec(kernel.stride, kernel.stride, kernel.pad, kernel.pad, 1, 1, groups);
        }

        int p() {
            return Conv2dSpec.outputSize(h, kernel.size, kernel.stride, kernel.pad, 1);
        }

        int q() {
            return Conv2dSpec.outputSize(w, kernel.size, kernel.stride, kernel.pad, 1);
        }

        Shape x() {
            return Shape.of(n, c, h, w);
        }

        Shape wt() {
            return Shape.of(k, c / groups, kernel.size, kernel.size);
        }

        Shape y() {
            return Shape.of(n, k, p(), q());
        }

        /** Multiply-adds of one pass per image (the same for all three). */
        long macsPerImage() {
            return (long) k * p() * q() * (c / groups) * kernel.size * kernel.size;
        }

        /** The batch cut so that the reference stays within the budget (at least 1). */
        Case withinBudget() {
            return new Case((int) Math.max(1, Math.min(n, MAX_MACS / macsPerImage())), c, k, groups, h, w, kernel);
        }
    }

    private static Arbitrary<Integer> channels() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(64)), Tuple.of(3, Arbitraries.just(128)),
                Tuple.of(2, Arbitraries.just(256)), Tuple.of(2, Arbitraries.just(512)));
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Kernel> kernels = Arbitraries.of(Kernel.class);
        // Output sizes 1-7, 7 (layer4's at 224x224 images) as often as 1-6 together; the input is any size that gives
        // it at the kernel's stride.
        Arbitrary<Integer> size = Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.integers().between(1, 6)), Tuple.of(1, Arbitraries.just(7)));
        Arbitrary<int[]> maps = Combinators.combine(size, size,
                Arbitraries.integers().between(0, 1), Arbitraries.integers().between(0, 1))
                .as((p, q, dh, dw) -> new int[] {p, q, dh, dw});
        Arbitrary<Boolean> grouped = Arbitraries.of(false, false, true);
        return Combinators.combine(Arbitraries.integers().between(1, 4), channels(), channels(), grouped, maps, kernels)
                .as((n, c, k, g, m, kern) -> {
                    // Stride s, padding as the kernel's: p outputs need (p-1)*s + size - 2*pad inputs, and up to s-1 more.
                    int h = Math.max(1, (m[0] - 1) * kern.stride + kern.size - 2 * kern.pad + m[2] * (kern.stride - 1));
                    int w = Math.max(1, (m[1] - 1) * kern.stride + kern.size - 2 * kern.pad + m[3] * (kern.stride - 1));
                    return g ? new Case(n, c, c, 32, h, w, kern) : new Case(n, c, k, 1, h, w, kern);
                })
                .map(Case::withinBudget);
    }

    /** Random floats, or small integers (exact arithmetic). */
    @Provide
    Arbitrary<Boolean> exact() {
        return Arbitraries.of(false, true);
    }

    private static float[] values(boolean exact, int n, long seed) {
        return exact ? integers(n, 8, seed) : random(n, seed);
    }

    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE)
    void forwardMatchesReference(@ForAll("cases") Case c, @ForAll boolean channelsLast, @ForAll boolean bias,
                                 @ForAll("exact") boolean exact, @ForAll long seed) {
        forward(c, channelsLast, bias, exact, seed);
    }

    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE)
    void backwardDataMatchesReference(@ForAll("cases") Case c, @ForAll boolean channelsLast, @ForAll("exact") boolean exact,
                                      @ForAll long seed) {
        backwardData(c, channelsLast, exact, seed);
    }

    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE)
    void backwardWeightsMatchesReference(@ForAll("cases") Case c, @ForAll boolean channelsLast, @ForAll("exact") boolean exact,
                                         @ForAll long seed) {
        backwardWeights(c, channelsLast, exact, seed);
    }

    /**
     * The largest shapes, which the random cases above reach rarely: ResNet-18/34's layer4 3x3 (512 -> 512 on 7x7)
     * and its first block's stride-2 3x3 and downsample (256 -> 512, 14x14 -> 7x7), layer3's 3x3 (256 -> 256) at
     * 7x7, and ResNeXt-50 32x4d's layer3 grouped 3x3 (512 -> 512, 32 groups of 16) at 7x7; all three passes, the
     * layout alternating. On integers only: at these reduction lengths the float bound (about 0.3 at L = 4608)
     * says less than exactness, and the reference (about 0.15 s per 115 M multiply-adds on an idle core, several
     * times that on a busy machine) runs once instead of twice.
     */
    @Property(generation = GenerationMode.EXHAUSTIVE)
    void resnetLayerShapesMatchReferenceExactly(@ForAll("resnetLayers") Case c) {
        long seed = c.toString().hashCode(); // the same data every run (an enum's hashCode is not)
        boolean channelsLast = (seed & 1) == 0;
        forward(c, channelsLast, true, true, seed);
        backwardData(c, !channelsLast, true, seed + 10);
        backwardWeights(c, channelsLast, true, seed + 20);
    }

    @Provide
    Arbitrary<Case> resnetLayers() {
        return Arbitraries.of(
                new Case(1, 512, 512, 1, 7, 7, Kernel.CONV3X3),
                new Case(1, 256, 512, 1, 14, 14, Kernel.CONV3X3_STRIDE2),
                new Case(4, 256, 512, 1, 14, 14, Kernel.CONV1X1_STRIDE2),
                new Case(2, 256, 256, 1, 7, 7, Kernel.CONV3X3),
                new Case(4, 512, 512, 32, 7, 7, Kernel.CONV3X3));
    }

    private static void forward(Case c, boolean channelsLast, boolean bias, boolean exact, long seed) {
        try (Scope scope = Scope.open()) {
            Shape bs = Shape.of(c.k());
            float[] x = values(exact, c.x().numel(), seed);
            float[] w = values(exact, c.wt().numel(), seed + 1);
            float[] b = bias ? values(exact, c.k(), seed + 2) : null;
            NDArray expected = REF.conv2d(ref64(x, c.x()), ref64(w, c.wt()), b == null ? null : ref64(b, bs), c.spec());
            NDArray actual = CPU.conv2d(cpu(x, c.x(), channelsLast), cpu(w, c.wt()), b == null ? null : cpu(b, bs), c.spec());
            String what = "conv2d " + c + (bias ? " with bias" : "") + (channelsLast ? ", x channels-last" : "");
            if (exact) {
                assertExact(what + " on integers", expected, actual);
            } else {
                NDArray bound = REF.conv2d(ref64(abs(x), c.x()), ref64(abs(w), c.wt()), b == null ? null : ref64(abs(b), bs), c.spec());
                long terms = (long) (c.c() / c.groups()) * c.kernel().size * c.kernel().size + (bias ? 1 : 0);
                assertClose(what, expected, actual, summationTolerance(terms, bound));
            }
        }
    }

    private static void backwardData(Case c, boolean channelsLast, boolean exact, long seed) {
        try (Scope scope = Scope.open()) {
            float[] dy = values(exact, c.y().numel(), seed);
            float[] w = values(exact, c.wt().numel(), seed + 1);
            NDArray expected = REF.conv2dBackwardData(ref64(dy, c.y()), ref64(w, c.wt()), c.x(), c.spec());
            NDArray actual = CPU.conv2dBackwardData(cpu(dy, c.y(), channelsLast), cpu(w, c.wt()), c.x(), c.spec());
            String what = "conv2d backward-data " + c + (channelsLast ? ", dy channels-last" : "");
            if (exact) {
                assertExact(what + " on integers", expected, actual);
            } else {
                NDArray bound = REF.conv2dBackwardData(ref64(abs(dy), c.y()), ref64(abs(w), c.wt()), c.x(), c.spec());
                long terms = (long) (c.k() / c.groups()) * c.kernel().size * c.kernel().size;
                assertClose(what, expected, actual, summationTolerance(terms, bound));
            }
        }
    }

    private static void backwardWeights(Case c, boolean channelsLast, boolean exact, long seed) {
        try (Scope scope = Scope.open()) {
            float[] dy = values(exact, c.y().numel(), seed);
            float[] x = values(exact, c.x().numel(), seed + 1);
            NDArray expected = REF.conv2dBackwardWeights(ref64(dy, c.y()), ref64(x, c.x()), c.wt(), c.spec());
            NDArray actual = CPU.conv2dBackwardWeights(cpu(dy, c.y(), channelsLast), cpu(x, c.x(), !channelsLast), c.wt(), c.spec());
            String what = "conv2d backward-weights " + c + (channelsLast ? ", dy channels-last" : ", x channels-last");
            if (exact) {
                assertExact(what + " on integers", expected, actual);
            } else {
                NDArray bound = REF.conv2dBackwardWeights(ref64(abs(dy), c.y()), ref64(abs(x), c.x()), c.wt(), c.spec());
                long terms = (long) c.n() * c.p() * c.q();
                assertClose(what, expected, actual, summationTolerance(terms, bound));
            }
        }
    }
}
