package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Conv2dSpec;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.abs;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref64;
import static dev.graft.engine.backend.cpu.Oracle.summationTolerance;

/**
 * InceptionV3's new kernels on cpu against the reference at small random shapes (CpuRealisticInceptionOpsProperties
 * runs Inception's own sizes).
 *
 * <p>Average pooling, both count_include_pad rules, any window, stride and padding (at most half the kernel):
 * each output is a sum of at most L = kh*kw terms then one division. Tolerance: {@link Oracle}'s summation bound
 * gamma(L + 1) times the reference's result on |x| in F64 (= sum|terms| / divisor), the extra rounding being the
 * division. The backward adds at most ceil(kh/sh) * ceil(kw/sw) overlapping windows' dy / divisor into one input
 * cell: the bound for that many terms plus one (the division), times the reference backward of |dy|. A wrong
 * divisor (9 where 4 cells are inside) moves an output by more than half of itself, far above these bounds.
 *
 * <p>Channel concatenation and its split are copies: exact, inputs in either layout.
 */
class CpuInceptionOpsProperties {

    @Property(tries = 80)
    void avgPoolMatchesReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 5) int c,
                                 @ForAll @IntRange(min = 1, max = 9) int h, @ForAll @IntRange(min = 1, max = 9) int w,
                                 @ForAll @IntRange(min = 1, max = 4) int kh, @ForAll @IntRange(min = 1, max = 4) int kw,
                                 @ForAll @IntRange(min = 1, max = 3) int sh, @ForAll @IntRange(min = 1, max = 3) int sw,
                                 @ForAll @IntRange(min = 0, max = 2) int ph, @ForAll @IntRange(min = 0, max = 2) int pw,
                                 @ForAll boolean countIncludePad, @ForAll boolean channelsLast, @ForAll long seed) {
        Assume.that(2 * ph <= kh && 2 * pw <= kw);
        AvgPool2dSpec spec = new AvgPool2dSpec(kh, kw, sh, sw, ph, pw, countIncludePad);
        int oh = Conv2dSpec.outputSize(h, kh, sh, ph, 1);
        int ow = Conv2dSpec.outputSize(w, kw, sw, pw, 1);
        Assume.that(oh >= 1 && ow >= 1);
        check(Shape.of(n, c, h, w), spec, channelsLast, seed);
    }

    /** Forward and backward of one case; shared with the realistic sizes. */
    static void check(Shape xs, AvgPool2dSpec spec, boolean channelsLast, long seed) {
        Shape ys = Shape.of(xs.dim(0), xs.dim(1), Conv2dSpec.outputSize(xs.dim(2), spec.kernelH(), spec.strideH(), spec.padH(), 1),
                Conv2dSpec.outputSize(xs.dim(3), spec.kernelW(), spec.strideW(), spec.padW(), 1));
        try (Scope scope = Scope.open()) {
            float[] x = random(xs.numel(), seed);
            float[] dy = random(ys.numel(), seed + 1);
            String what = "avg pool " + spec + " " + xs + (channelsLast ? ", x channels-last" : "");
            NDArray expected = REF.avgPool2d(ref64(x, xs), spec);
            NDArray actual = CPU.avgPool2d(cpu(x, xs, channelsLast), spec);
            long terms = (long) spec.kernelH() * spec.kernelW();
            assertClose(what, expected, actual, summationTolerance(terms + 1, REF.avgPool2d(ref64(abs(x), xs), spec)));
            NDArray dxe = REF.avgPool2dBackward(ref64(dy, ys), xs, spec);
            NDArray dxa = CPU.avgPool2dBackward(cpu(dy, ys, !channelsLast), xs, spec);
            long overlap = (long) ((spec.kernelH() + spec.strideH() - 1) / spec.strideH())
                    * ((spec.kernelW() + spec.strideW() - 1) / spec.strideW());
            assertClose(what + " backward", dxe, dxa,
                    summationTolerance(overlap + 1, REF.avgPool2dBackward(ref64(abs(dy), ys), xs, spec)));
        }
    }

    @Provide
    Arbitrary<int[]> channelLists() {
        return Arbitraries.integers().between(1, 6).array(int[].class).ofMinSize(1).ofMaxSize(5);
    }

    /** {@link dev.graft.engine.functions.ConcatChannelsFunction}'s forward and split: cpu's own channels-last copy against the reference's. */
    @Property(tries = 60)
    void concatAndSplitMatchReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll("channelLists") int[] channels,
                                      @ForAll @IntRange(min = 1, max = 7) int h, @ForAll @IntRange(min = 1, max = 7) int w,
                                      @ForAll long layouts, @ForAll long seed) {
        concat(n, channels, h, w, layouts, seed);
    }

    /** Input i is channels-last when bit i of {@code layouts} is set; the gradient split back has the other layout. */
    static void concat(int n, int[] channels, int h, int w, long layouts, long seed) {
        try (Scope scope = Scope.open()) {
            NDArray[] r = new NDArray[channels.length];
            NDArray[] a = new NDArray[channels.length];
            int total = 0;
            for (int i = 0; i < channels.length; i++) {
                Shape s = Shape.of(n, channels[i], h, w);
                float[] v = random(s.numel(), seed + i);
                r[i] = ref64(v, s);
                a[i] = cpu(v, s, ((layouts >>> i) & 1) != 0);
                total += channels[i];
            }
            String what = "cat(dim=1) of " + java.util.Arrays.toString(channels) + " at " + n + "x" + h + "x" + w;
            assertExact(what, REF.concatChannels(r), CPU.concatChannels(a));
            Shape ys = Shape.of(n, total, h, w);
            float[] dy = random(ys.numel(), seed - 1);
            NDArray[] e = REF.splitChannels(ref64(dy, ys), channels);
            NDArray[] g = CPU.splitChannels(cpu(dy, ys, (layouts & 1) == 0), channels);
            for (int i = 0; i < channels.length; i++) {
                assertExact(what + " split, part " + i, e[i], g[i]);
            }
        }
    }
}
