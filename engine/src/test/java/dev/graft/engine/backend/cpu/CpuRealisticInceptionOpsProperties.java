package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Conv2dSpec;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

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
 * InceptionV3's new kernels on cpu against the reference in F64 at torchvision inception_v3's own sizes (299x299
 * input): the branch pools 3x3 stride 1 padding 1 at 192/256/288 channels on 35x35, 768 on 17x17 and 1280/2048 on
 * 8x8, both count_include_pad rules; Mixed_5b's and Mixed_7c's concatenations; and the factorised convolutions
 * 1x7 / 7x1 (Mixed_6b-e, 128-192 channels on 17x17) and 1x3 / 3x1 (Mixed_7b-c, 384/448 channels on 8x8), all three
 * passes and the fused inference convolution (bias + relu post-ops). Batch 1 (2 for the pools) keeps the reference
 * runs to about ten seconds.
 *
 * <p>Tolerances, as in {@link CpuInceptionOpsProperties} and CpuRealisticConvolutionProperties: floats in [-1, 1]
 * get the summation bound gamma(L) * sum|terms| (L = 9 + 1 for the pool, C*R*S (+1 bias) forward, K*R*S
 * backward-data, N*P*Q backward-weights); convolutions on integers in [-8, 8] must be exact (every partial sum is
 * an integer below 2^24).
 */
class CpuRealisticInceptionOpsProperties {

    @Provide
    Arbitrary<Shape> poolShapes() {
        return Arbitraries.of(Shape.of(2, 192, 35, 35), Shape.of(1, 256, 35, 35), Shape.of(1, 288, 35, 35),
                Shape.of(2, 768, 17, 17), Shape.of(2, 1280, 8, 8), Shape.of(1, 2048, 8, 8));
    }

    @Property(generation = GenerationMode.EXHAUSTIVE)
    void branchPoolMatchesReference(@ForAll("poolShapes") Shape xs, @ForAll boolean countIncludePad) {
        CpuInceptionOpsProperties.check(xs, AvgPool2dSpec.of(3, 1, 1, countIncludePad), countIncludePad,
                xs.toString().hashCode());
    }

    /** Mixed_5b's [64, 64, 96, 32] at 35x35 and Mixed_7c's [320, 768, 768, 192] at 8x8, layouts mixed. */
    @Property(generation = GenerationMode.EXHAUSTIVE)
    void mixedBlockConcatenationsMatchReference(@ForAll boolean big) {
        if (big) {
            CpuInceptionOpsProperties.concat(2, new int[] {320, 768, 768, 192}, 8, 8, 0b0110, 7);
        } else {
            CpuInceptionOpsProperties.concat(2, new int[] {64, 64, 96, 32}, 35, 35, 0b1010, 5);
        }
    }

    record Case(int n, int c, int k, int h, int w, int kh, int kw) {
        Conv2dSpec spec() {
            return new Conv2dSpec(1, 1, kh / 2, kw / 2, 1, 1, 1); // torchvision's padding (0, 3), (3, 0), (0, 1), (1, 0)
        }

        Shape x() {
            return Shape.of(n, c, h, w);
        }

        Shape wt() {
            return Shape.of(k, c, kh, kw);
        }

        Shape y() {
            return Shape.of(n, k, h, w); // 'same' padding at stride 1
        }
    }

    @Provide
    Arbitrary<Case> inceptionConvs() {
        return Arbitraries.of(
                new Case(1, 128, 128, 17, 17, 1, 7), new Case(1, 128, 192, 17, 17, 7, 1),
                new Case(1, 384, 384, 8, 8, 1, 3), new Case(1, 448, 384, 8, 8, 3, 1));
    }

    @Property(generation = GenerationMode.EXHAUSTIVE)
    void factorisedConvolutionsMatchReference(@ForAll("inceptionConvs") Case c, @ForAll boolean exact) {
        long seed = c.toString().hashCode() + (exact ? 1 : 0);
        boolean channelsLast = (seed & 1) == 0;
        String what = "conv2d " + c.kh() + "x" + c.kw() + " " + c + (exact ? " on integers" : "");
        try (Scope scope = Scope.open()) {
            float[] x = exact ? integers(c.x().numel(), 8, seed) : random(c.x().numel(), seed);
            float[] w = exact ? integers(c.wt().numel(), 8, seed + 1) : random(c.wt().numel(), seed + 1);
            float[] b = exact ? integers(c.k(), 8, seed + 2) : random(c.k(), seed + 2);
            float[] dy = exact ? integers(c.y().numel(), 8, seed + 3) : random(c.y().numel(), seed + 3);
            Shape bs = Shape.of(c.k());
            long taps = (long) c.kh() * c.kw();

            NDArray e = REF.conv2d(ref64(x, c.x()), ref64(w, c.wt()), ref64(b, bs), c.spec());
            NDArray a = CPU.conv2d(cpu(x, c.x(), channelsLast), cpu(w, c.wt()), cpu(b, bs), c.spec());
            NDArray ed = REF.conv2dBackwardData(ref64(dy, c.y()), ref64(w, c.wt()), c.x(), c.spec());
            NDArray ad = CPU.conv2dBackwardData(cpu(dy, c.y(), channelsLast), cpu(w, c.wt()), c.x(), c.spec());
            NDArray ew = REF.conv2dBackwardWeights(ref64(dy, c.y()), ref64(x, c.x()), c.wt(), c.spec());
            NDArray aw = CPU.conv2dBackwardWeights(cpu(dy, c.y(), !channelsLast), cpu(x, c.x(), channelsLast), c.wt(), c.spec());
            // The fused inference path (CpuFusedConvolution: bias and relu as oneDNN post-ops), as the inference plan runs it.
            NDArray ef = REF.relu(e);
            NDArray af = CPU.conv2dInference(cpu(x, c.x(), !channelsLast), cpu(w, c.wt()), cpu(b, bs), null, true, c.spec(), null);
            if (exact) {
                assertExact(what + " fused with relu", ef, af);
                assertExact(what, e, a);
                assertExact(what + " backward-data", ed, ad);
                assertExact(what + " backward-weights", ew, aw);
                return;
            }
            double[] forwardTol = summationTolerance(c.c() * taps + 1,
                    REF.conv2d(ref64(abs(x), c.x()), ref64(abs(w), c.wt()), ref64(abs(b), bs), c.spec()));
            assertClose(what, e, a, forwardTol);
            assertClose(what + " fused with relu", ef, af, forwardTol); // relu moves no value further from its pre-activation's
            assertClose(what + " backward-data", ed, ad, summationTolerance(c.k() * taps,
                    REF.conv2dBackwardData(ref64(abs(dy), c.y()), ref64(abs(w), c.wt()), c.x(), c.spec())));
            assertClose(what + " backward-weights", ew, aw, summationTolerance((long) c.n() * c.h() * c.w(),
                    REF.conv2dBackwardWeights(ref64(abs(dy), c.y()), ref64(abs(x), c.x()), c.wt(), c.spec())));
        }
    }
}
