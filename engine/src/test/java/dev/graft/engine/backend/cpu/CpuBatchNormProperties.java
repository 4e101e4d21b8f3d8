package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.backend.cpu.BatchNormBounds.Stats;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.util.Random;

import static dev.graft.engine.backend.cpu.BatchNormBounds.perChannel;
import static dev.graft.engine.backend.cpu.BatchNormBounds.sumAbs;
import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.U;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref;

/**
 * Batch norm (training forward, inference forward, backward with batch or fixed statistics, with and without
 * parameter gradients) on cpu against the reference. Tolerances are per channel, linear in the reduction
 * length M = N*H*W, and scale with the conditioning of the channel, because batch norm divides by
 * sigma = sqrt(var + eps): with A = max|x| + |mean| and K = A / sigma, a float sum over M elements is off by
 * at most about M*u*A in the mean and M*u*A^2 in the variance, which moves y = gamma*(x - mean)/sigma + beta by
 * about M*u*|gamma|*(K + K^2). The backward formulas have the same structure (sums over M of dy and dy*xhat,
 * times gamma/sigma). A safety factor of 8 covers the few extra roundings per element; everything is
 * computed from the inputs, so a well-conditioned channel gets a tolerance of a few 1e-6. The formulas live in
 * {@link BatchNormBounds}, shared with CpuRealisticBatchNormProperties.
 */
class CpuBatchNormProperties {

    private static float[] uniform(int n, double lo, double hi, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return v;
    }

    @Property(tries = 30)
    void trainingForwardMatchesReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 6) int c,
                                         @ForAll @IntRange(min = 1, max = 5) int h, @ForAll @IntRange(min = 1, max = 5) int w,
                                         @ForAll boolean channelsLast, @ForAll("eps") double eps, @ForAll long seed) {
        Assume.that(n * h * w > 1);
        Shape s = Shape.of(n, c, h, w);
        Shape cs = Shape.of(c);
        try (Scope scope = Scope.open()) {
            float[] x = random(s.numel(), seed);
            float[] g = uniform(c, -1.5, 1.5, seed + 1);
            float[] b = random(c, seed + 2);
            BatchNormStats e = REF.batchNormTraining(ref(x, s), ref(g, cs), ref(b, cs), eps);
            BatchNormStats a = CPU.batchNormTraining(cpu(x, s, channelsLast), cpu(g, cs), cpu(b, cs), eps);
            Stats st = Stats.of(x, s);
            int m = st.m();
            double[] tolY = new double[c];
            double[] tolMean = new double[c];
            double[] tolVar = new double[c];
            for (int ch = 0; ch < c; ch++) {
                double k = st.k(ch, st.var()[ch], eps);
                tolY[ch] = BatchNormBounds.trainingOutput(m, g[ch], b[ch], k);
                tolMean[ch] = BatchNormBounds.mean(m, st.a()[ch]);
                tolVar[ch] = BatchNormBounds.variance(m, st.a()[ch]);
            }
            assertClose("batch norm training y", e.output(), a.output(), perChannel(s, tolY));
            assertClose("batch norm training mean", e.mean(), a.mean(), tolMean);
            assertClose("batch norm training variance", e.variance(), a.variance(), tolVar);
        }
    }

    @Property(tries = 20)
    void inferenceForwardMatchesReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 6) int c,
                                          @ForAll @IntRange(min = 1, max = 5) int h, @ForAll @IntRange(min = 1, max = 5) int w,
                                          @ForAll boolean channelsLast, @ForAll("eps") double eps, @ForAll long seed) {
        Shape s = Shape.of(n, c, h, w);
        Shape cs = Shape.of(c);
        try (Scope scope = Scope.open()) {
            float[] x = random(s.numel(), seed);
            float[] g = uniform(c, -1.5, 1.5, seed + 1);
            float[] b = random(c, seed + 2);
            float[] mean = random(c, seed + 3);
            float[] var = uniform(c, 0.05, 2, seed + 4);
            NDArray e = REF.batchNormInference(ref(x, s), ref(g, cs), ref(b, cs), ref(mean, cs), ref(var, cs), eps);
            NDArray a = CPU.batchNormInference(cpu(x, s, channelsLast), cpu(g, cs), cpu(b, cs), cpu(mean, cs), cpu(var, cs), eps);
            double[] tol = new double[c];
            for (int ch = 0; ch < c; ch++) {
                // Elementwise: a handful of roundings of (x - mean) * invstd * gamma + beta.
                tol[ch] = 8 * U * (Math.abs(g[ch]) * (1 + Math.abs(mean[ch])) / Math.sqrt(var[ch] + eps) + Math.abs(b[ch]));
            }
            assertClose("batch norm inference", e, a, perChannel(s, tol));
        }
    }

    @Property(tries = 40)
    void backwardMatchesReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 6) int c,
                                  @ForAll @IntRange(min = 1, max = 5) int h, @ForAll @IntRange(min = 1, max = 5) int w,
                                  @ForAll boolean batchStatistics, @ForAll boolean needInput, @ForAll boolean needParams,
                                  @ForAll boolean channelsLast, @ForAll("eps") double eps, @ForAll long seed) {
        Assume.that(n * h * w > 1 && (needInput || needParams));
        Shape s = Shape.of(n, c, h, w);
        Shape cs = Shape.of(c);
        try (Scope scope = Scope.open()) {
            float[] x = random(s.numel(), seed);
            float[] dy = random(s.numel(), seed + 1);
            float[] g = uniform(c, -1.5, 1.5, seed + 2);
            Stats st = Stats.of(x, s);
            float[] mean = new float[c];
            float[] var = new float[c];
            for (int ch = 0; ch < c; ch++) {
                // Batch statistics are the batch's own (as the forward returned them); fixed ones are arbitrary.
                mean[ch] = batchStatistics ? (float) st.mean()[ch] : (float) (0.3 * Math.sin(seed + ch));
                var[ch] = batchStatistics ? (float) st.var()[ch] : (float) (0.2 + Math.abs(Math.cos(seed + ch)));
            }
            BatchNormGrads e = REF.batchNormBackward(ref(dy, s), ref(x, s), ref(g, cs), ref(mean, cs), ref(var, cs), eps,
                    batchStatistics, needInput, needParams);
            BatchNormGrads a = CPU.batchNormBackward(cpu(dy, s, channelsLast), cpu(x, s, !channelsLast), cpu(g, cs),
                    cpu(mean, cs), cpu(var, cs), eps, batchStatistics, needInput, needParams);
            int m = st.m();
            double[] tolDx = new double[c];
            double[] tolDg = new double[c];
            double[] tolDb = new double[c];
            for (int ch = 0; ch < c; ch++) {
                double sigma = Math.sqrt(var[ch] + eps);
                double a1 = st.a()[ch] + Math.abs(mean[ch]);
                double k = a1 / sigma;
                double sumAbsDy = sumAbs(dy, s, ch);
                tolDx[ch] = batchStatistics
                        ? BatchNormBounds.inputGradientBatch(m, g[ch], sigma, k)
                        : BatchNormBounds.inputGradientFixed(g[ch], sigma);
                tolDg[ch] = BatchNormBounds.weightGradient(m, sumAbsDy, k);
                tolDb[ch] = BatchNormBounds.biasGradient(m, sumAbsDy);
            }
            if (needInput) {
                assertClose("batch norm backward dx", e.input(), a.input(), perChannel(s, tolDx));
            } else if (a.input() != null) {
                throw new AssertionError("dx was not asked for but came back");
            }
            if (needParams) {
                assertClose("batch norm backward dgamma", e.weight(), a.weight(), tolDg);
                assertClose("batch norm backward dbeta", e.bias(), a.bias(), tolDb);
            } else if (a.weight() != null || a.bias() != null) {
                throw new AssertionError("parameter gradients were not asked for but came back");
            }
        }
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<Double> eps() {
        return net.jqwik.api.Arbitraries.of(1e-5, 1e-3, 0.1);
    }
}
