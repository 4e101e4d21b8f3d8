package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.backend.cpu.BatchNormBounds.Stats;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.util.Random;

import static dev.graft.engine.backend.cpu.BatchNormBounds.perChannel;
import static dev.graft.engine.backend.cpu.BatchNormBounds.sumAbs;
import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref64;

/**
 * Batch norm on cpu against the reference in F64 at the shapes of ResNet's layer3 and layer4: training forward
 * and backward with batch statistics, each with and without the fused relu ({@code batchNormTrainingRelu},
 * {@code batchNormReluBackward}), and the backward with fixed (eval) statistics.
 *
 * <p>Shapes: batch 1 to 4, channels from {64, 128, 256, 512}, maps 1x1 to 7x7 with H and W independent, at least two
 * values per channel (M = N*H*W >= 2; with one, batch statistics are degenerate and PyTorch refuses to train);
 * row-major or channels-last; eps 1e-5, torchvision's.
 *
 * <p>Inputs: uniform in [-1, 1] (well conditioned), or 10 + N(0, 1) in every channel (the mean ten times the
 * spread: oneDNN's forward computes x * scale + shift with shift = beta - mean * scale, which cancels, and its
 * variance is a sum of squares of x - mean), or per channel a mean uniform in [-20, 20] and a spread log-uniform in
 * [0.01, 10] (channels of very different offsets and scales, as a trained network's conv outputs can have). gamma
 * uniform in [-1.5, 1.5], beta and dy in [-1, 1].
 *
 * <p>Tolerances, per channel, from {@link BatchNormBounds}, linear in M and growing with the channel's conditioning
 * K = (max|x| + |mean|) / sigma. The backward and the batch mean use CpuBatchNormProperties' bounds unchanged. The
 * forward's y and variance use the refinement for two-pass statistics ({@link BatchNormBounds#trainingOutputTwoPass},
 * derived there), which oneDNN computes: the shared bound's K^2 term models a one-pass variance; at K = 30 (the
 * 10 + N(0, 1) inputs) it is over 800 times the largest error measured, and at K = 100 (M = 196) it reaches
 * |gamma|, as large as y itself, so it could not tell a kernel that loses the cancellation in x * scale + shift from
 * a right one. The two-pass bound is linear in K; over 400 tries of this property the largest error was 0.14 of it
 * for y and 0.28 for the variance.
 * With the relu fused: relu is 1-Lipschitz, so the output bound holds after it; the backward's relu mask is that of
 * the cpu's own forward output (the SPI defines the fused backward given y; where y is within its tolerance of 0 the
 * reference's mask may differ), and the reference is handed dy masked by it, with the cpu forward's mean and
 * variance. The cpu backend also promises that its fused kernels give exactly what its unfused ones do (relu after
 * batch norm; reluBackward then batchNormBackward): checked bit for bit.
 */
class CpuRealisticBatchNormProperties {
    static final double EPS = 1e-5;

    enum Data { CENTERED, OFFSET, PER_CHANNEL }

    record Case(int n, int c, int h, int w) {
        Shape shape() {
            return Shape.of(n, c, h, w);
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Integer> channels = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(64)), Tuple.of(3, Arbitraries.just(128)),
                Tuple.of(2, Arbitraries.just(256)), Tuple.of(2, Arbitraries.just(512)));
        return Combinators.combine(Arbitraries.integers().between(1, 4), channels, Arbitraries.integers().between(1, 7),
                        Arbitraries.integers().between(1, 7))
                .as(Case::new)
                .filter(c -> c.n() * c.h() * c.w() >= 2);
    }

    static float[] data(Data kind, Shape s, long seed) {
        Random r = new Random(seed);
        int c = s.dim(1), hw = s.dim(2) * s.dim(3);
        double[] mean = new double[c];
        double[] spread = new double[c];
        for (int ch = 0; ch < c; ch++) {
            mean[ch] = kind == Data.OFFSET ? 10 : kind == Data.PER_CHANNEL ? 40 * r.nextDouble() - 20 : 0;
            spread[ch] = kind == Data.PER_CHANNEL ? Math.pow(10, 3 * r.nextDouble() - 2) : 1;
        }
        float[] x = new float[s.numel()];
        for (int i = 0; i < x.length; i++) {
            int ch = (i / hw) % c;
            double z = kind == Data.CENTERED ? 2 * r.nextDouble() - 1 : r.nextGaussian();
            x[i] = (float) (mean[ch] + spread[ch] * z);
        }
        return x;
    }

    static float[] uniform(int n, double lo, double hi, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return v;
    }

    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE)
    void trainingForwardMatchesReference(@ForAll("cases") Case cs, @ForAll Data kind, @ForAll boolean relu,
                                         @ForAll boolean channelsLast, @ForAll long seed) {
        Shape s = cs.shape();
        Shape vs = Shape.of(cs.c());
        try (Scope scope = Scope.open()) {
            float[] x = data(kind, s, seed);
            float[] g = uniform(cs.c(), -1.5, 1.5, seed + 1);
            float[] b = random(cs.c(), seed + 2);
            BatchNormStats e = REF.batchNormTraining(ref64(x, s), ref64(g, vs), ref64(b, vs), EPS);
            NDArray ey = relu ? REF.relu(e.output()) : e.output();
            NDArray xc = cpu(x, s, channelsLast);
            NDArray gc = cpu(g, vs);
            NDArray bc = cpu(b, vs);
            BatchNormStats a = relu ? CPU.batchNormTrainingRelu(xc, gc, bc, EPS) : CPU.batchNormTraining(xc, gc, bc, EPS);
            Stats st = Stats.of(x, s);
            int m = st.m();
            double[] tolY = new double[cs.c()];
            double[] tolMean = new double[cs.c()];
            double[] tolVar = new double[cs.c()];
            for (int ch = 0; ch < cs.c(); ch++) {
                double sigma = Math.sqrt(st.var()[ch] + EPS);
                tolY[ch] = BatchNormBounds.trainingOutputTwoPass(m, g[ch], b[ch], st.a()[ch] / sigma, st.dev()[ch] / sigma);
                tolMean[ch] = BatchNormBounds.mean(m, st.a()[ch]);
                tolVar[ch] = BatchNormBounds.varianceTwoPass(m, st.a()[ch], st.var()[ch]);
            }
            String what = "batch norm training" + (relu ? " + relu " : " ") + s + " " + kind;
            assertClose(what + " y", ey, a.output(), perChannel(s, tolY));
            assertClose(what + " mean", e.mean(), a.mean(), tolMean);
            assertClose(what + " variance", e.variance(), a.variance(), tolVar);
            if (relu) {
                BatchNormStats u = CPU.batchNormTraining(xc, gc, bc, EPS);
                assertExact(what + ": fused y vs the unfused kernels", CPU.relu(u.output()), a.output());
                assertExact(what + ": fused mean vs unfused", u.mean(), a.mean());
                assertExact(what + ": fused variance vs unfused", u.variance(), a.variance());
            }
        }
    }

    /**
     * Batch statistics as the forward returned them (the batch's own), or fixed ones near them, as in eval. With
     * {@code mayOverwriteDy} the kernel may write dx over dy (oneDNN's in-place backward); without it, dy and x must
     * come back untouched.
     */
    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE)
    void backwardMatchesReference(@ForAll("cases") Case cs, @ForAll Data kind, @ForAll boolean batchStatistics,
                                  @ForAll boolean channelsLast, @ForAll boolean mayOverwriteDy, @ForAll long seed) {
        Shape s = cs.shape();
        Shape vs = Shape.of(cs.c());
        try (Scope scope = Scope.open()) {
            float[] x = data(kind, s, seed);
            float[] dy = random(s.numel(), seed + 1);
            float[] g = uniform(cs.c(), -1.5, 1.5, seed + 2);
            Stats st = Stats.of(x, s);
            Random r = new Random(seed + 3);
            float[] mean = new float[cs.c()];
            float[] var = new float[cs.c()];
            for (int ch = 0; ch < cs.c(); ch++) {
                double sd = Math.sqrt(st.var()[ch]);
                // Running statistics: the mean within half a spread, the variance within a factor of 2 (plus a floor,
                // for channels whose batch has no spread).
                mean[ch] = (float) (batchStatistics ? st.mean()[ch] : st.mean()[ch] + sd * (r.nextDouble() - 0.5));
                var[ch] = (float) (batchStatistics ? st.var()[ch] : st.var()[ch] * (0.5 + 1.5 * r.nextDouble()) + 1e-3);
            }
            BatchNormGrads e = REF.batchNormBackward(ref64(dy, s), ref64(x, s), ref64(g, vs), ref64(mean, vs), ref64(var, vs),
                    EPS, batchStatistics, true, true);
            NDArray dyc = cpu(dy, s, channelsLast);
            NDArray xc = cpu(x, s, !channelsLast);
            BatchNormGrads a = CPU.batchNormBackward(dyc, xc, cpu(g, vs), cpu(mean, vs), cpu(var, vs), EPS, batchStatistics,
                    true, true, mayOverwriteDy);
            String what = "batch norm backward" + (batchStatistics ? " " : " (fixed statistics) ") + s + " " + kind
                    + (mayOverwriteDy ? ", dy may be overwritten" : "");
            assertGradients(what, e, a, x, dy, g, mean, var, batchStatistics);
            assertIntact(what, x, xc, mayOverwriteDy ? null : dy, dyc);
        }
    }

    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE)
    void reluBackwardMatchesReference(@ForAll("cases") Case cs, @ForAll Data kind, @ForAll boolean channelsLast,
                                      @ForAll boolean mayOverwriteDy, @ForAll long seed) {
        Shape s = cs.shape();
        Shape vs = Shape.of(cs.c());
        try (Scope scope = Scope.open()) {
            float[] x = data(kind, s, seed);
            float[] dy = random(s.numel(), seed + 1);
            float[] g = uniform(cs.c(), -1.5, 1.5, seed + 2);
            float[] b = random(cs.c(), seed + 3);
            NDArray xc = cpu(x, s, channelsLast);
            NDArray gc = cpu(g, vs);
            BatchNormStats f = CPU.batchNormTrainingRelu(xc, gc, cpu(b, vs), EPS);
            float[] y = f.output().toFloatArray();
            float[] masked = new float[dy.length];
            for (int i = 0; i < dy.length; i++) {
                masked[i] = y[i] > 0 ? dy[i] : 0;
            }
            float[] mean = f.mean().toFloatArray();
            float[] var = f.variance().toFloatArray();
            BatchNormGrads e = REF.batchNormBackward(ref64(masked, s), ref64(x, s), ref64(g, vs), ref64(mean, vs),
                    ref64(var, vs), EPS, true, true, true);
            NDArray dyc = cpu(dy, s, !channelsLast);
            BatchNormGrads a = CPU.batchNormReluBackward(dyc, f.output(), f.workspace(), xc, gc, f.mean(), f.variance(),
                    EPS, true, true, mayOverwriteDy);
            String what = "batch norm + relu backward " + s + " " + kind + (mayOverwriteDy ? ", dy may be overwritten" : "");
            assertGradients(what, e, a, x, masked, g, mean, var, true);
            assertIntact(what, x, xc, mayOverwriteDy ? null : dy, dyc);
            BatchNormGrads u = CPU.batchNormBackward(CPU.reluBackward(cpu(dy, s, !channelsLast), f.output()), xc, gc,
                    f.mean(), f.variance(), EPS, true, true, true);
            assertExact(what + ": fused dx vs reluBackward then batchNormBackward", u.input(), a.input());
            assertExact(what + ": fused dgamma vs unfused", u.weight(), a.weight());
            assertExact(what + ": fused dbeta vs unfused", u.bias(), a.bias());
        }
    }

    /** The backward read x and, unless it was allowed to overwrite it (dy null here), dy without writing them. */
    private static void assertIntact(String what, float[] x, NDArray xc, float[] dy, NDArray dyc) {
        if (!java.util.Arrays.equals(x, xc.toFloatArray())) {
            throw new AssertionError(what + ": the backward changed x");
        }
        if (dy != null && !java.util.Arrays.equals(dy, dyc.toFloatArray())) {
            throw new AssertionError(what + ": the backward changed dy, which it was not allowed to overwrite");
        }
    }

    /** dx, dgamma and dbeta within {@link BatchNormBounds} for the statistics the backward was given. */
    private static void assertGradients(String what, BatchNormGrads e, BatchNormGrads a, float[] x, float[] dy, float[] g,
                                        float[] mean, float[] var, boolean batchStatistics) {
        Shape s = e.input().shape();
        Stats st = Stats.of(x, s);
        int m = st.m();
        int c = s.dim(1);
        double[] tolDx = new double[c];
        double[] tolDg = new double[c];
        double[] tolDb = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double sigma = Math.sqrt(var[ch] + EPS);
            double k = (st.a()[ch] + Math.abs(mean[ch])) / sigma;
            double sumAbsDy = sumAbs(dy, s, ch);
            tolDx[ch] = batchStatistics ? BatchNormBounds.inputGradientBatch(m, g[ch], sigma, k)
                    : BatchNormBounds.inputGradientFixed(g[ch], sigma);
            tolDg[ch] = BatchNormBounds.weightGradient(m, sumAbsDy, k);
            tolDb[ch] = BatchNormBounds.biasGradient(m, sumAbsDy);
        }
        assertClose(what + " dx", e.input(), a.input(), perChannel(s, tolDx));
        assertClose(what + " dgamma", e.weight(), a.weight(), tolDg);
        assertClose(what + " dbeta", e.bias(), a.bias(), tolDb);
    }
}
