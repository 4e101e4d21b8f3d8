package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

import java.util.Arrays;
import java.util.Random;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.U;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.gamma;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref64;

/**
 * Layer norm, GELU, roll and zero padding on cpu (oneDNN layer_normalization and eltwise_gelu_*, Java copies)
 * against the reference in F64, at small random shapes; {@link CpuRealisticNormActivationOpsProperties} runs the same
 * checks at DeiT-S and Swin-T sizes. Roll, pad and crop are pure copies: exact.
 *
 * <p>Layer norm tolerances. A row's mean and variance are sums of C terms (oneDNN may form the variance in one pass
 * as E[x^2] - mean^2), so their relative error is at most gamma(2C + 4) scaled by kappa = (E[x^2] + eps) /
 * (var + eps), the cancellation factor of the one-pass form; rstd inherits half of it plus two roundings. Every
 * output term carries that relative error: forward |dy_i| <= gamma(2C + 8) kappa (|w_i| (|xhat_i| + rstd
 * mean|x|) + |b_i|); the input gradient, rstd (g_i - mean g - xhat_i mean(g xhat)), the same with each of its three
 * terms in absolute value; weight and bias gradients sum over the rows: gamma(rows + 2C + 8) kappa_max sum|terms|.
 *
 * <p>GELU tolerances: oneDNN evaluates erf and tanh with polynomial approximations accurate to a few units in the
 * last place; the bound allowed is 8 u (|x| + |y|) forward and 16 u |dy| (1 + |x|) backward (the derivative
 * Phi(x) + x phi(x) is a sum of two terms below 1 and 0.25 |x| in size, each a few ulps off). The two GELU forms differ by up to 5e-4 |x| around |x| = 2, so confusing them, or a sign or scale
 * error, fails by orders of magnitude.
 */
class CpuNormActivationOpsProperties {

    @Property(tries = 30)
    void layerNormMatchesReference(@ForAll("leadShapes") int[] lead, @ForAll @IntRange(min = 1, max = 70) int c,
                                   @ForAll boolean smallEps, @ForAll long seed) {
        int[] dims = Arrays.copyOf(lead, lead.length + 1);
        dims[lead.length] = c;
        layerNorm(Shape.of(dims), smallEps ? 1e-6 : 1e-5, seed);
    }

    @Property(tries = 30)
    void geluMatchesReference(@ForAll("anyShapes") int[] dims, @ForAll boolean tanh, @ForAll boolean channelsLast,
                              @ForAll long seed) {
        gelu(Shape.of(dims), tanh, channelsLast, seed);
    }

    @Property(tries = 30)
    void rollPadCropAreExact(@ForAll("anyShapes") int[] dims, @ForAll boolean channelsLast, @ForAll long seed) {
        Random r = new Random(seed);
        int rank = dims.length;
        int k = 1 + r.nextInt(rank);
        int[] axes = new int[k];
        for (int i = 0; i < k; i++) {
            axes[i] = (i + r.nextInt(rank)) % rank;
        }
        axes = Arrays.stream(axes).distinct().toArray();
        // The backend contract takes shifts already reduced to [0, dim) of their own axis: draw them after the
        // axes are de-duplicated (drawing before paired a shift reduced for one axis with another axis).
        int[] shifts = new int[axes.length];
        for (int i = 0; i < axes.length; i++) {
            shifts[i] = Math.floorMod(r.nextInt(19) - 9, dims[axes[i]]);
        }
        int[] before = new int[rank];
        int[] after = new int[rank];
        for (int d = 0; d < rank; d++) {
            before[d] = r.nextInt(3);
            after[d] = r.nextInt(3);
        }
        rollPadCrop(Shape.of(dims), shifts, axes, before, after, channelsLast, seed);
    }

    @Provide
    Arbitrary<int[]> leadShapes() {
        return Arbitraries.integers().between(1, 5).array(int[].class).ofMinSize(0).ofMaxSize(3);
    }

    @Provide
    Arbitrary<int[]> anyShapes() {
        return Arbitraries.integers().between(1, 6).array(int[].class).ofMinSize(1).ofMaxSize(4);
    }

    // ---- shared with the realistic sizes -----------------------------------------------------------------------

    static void layerNorm(Shape xs, double eps, long seed) {
        int c = xs.dim(xs.rank() - 1);
        int rows = xs.numel() / c;
        Shape cs = Shape.of(c);
        String what = "layer_norm " + xs + " eps " + eps;
        try (Scope scope = Scope.open()) {
            float[] x = random(xs.numel(), seed);
            float[] w = random(c, seed + 1);
            float[] b = random(c, seed + 2);
            float[] dy = random(xs.numel(), seed + 3);
            BatchNormStats e = REF.layerNorm(ref64(x, xs), ref64(w, cs), ref64(b, cs), eps);
            BatchNormStats a = CPU.layerNorm(cpu(x, xs), cpu(w, cs), cpu(b, cs), eps);
            BatchNormGrads eg = REF.layerNormBackward(ref64(dy, xs), ref64(x, xs), ref64(w, cs), e.mean(), e.variance(), eps, true, true);
            BatchNormGrads ag = CPU.layerNormBackward(cpu(dy, xs), cpu(x, xs), cpu(w, cs), a.mean(), a.variance(), eps, true, true);

            double[] mean = e.mean().toDoubleArray();
            double[] var = e.variance().toDoubleArray();
            double[] ty = new double[xs.numel()];
            double[] tdx = new double[xs.numel()];
            double[] tdw = new double[c];
            double[] tdb = new double[c];
            double kappaMax = 0;
            double gRow = gamma(2L * c + 8);
            double gSum = gamma(rows + 2L * c + 8);
            for (int r = 0; r < rows; r++) {
                double sq = 0;
                double sabs = 0;
                for (int i = 0; i < c; i++) {
                    sq += (double) x[r * c + i] * x[r * c + i];
                    sabs += Math.abs(x[r * c + i]);
                }
                double kappa = (sq / c + eps) / (var[r] + eps);
                kappaMax = Math.max(kappaMax, kappa);
                double rstd = 1 / Math.sqrt(var[r] + eps);
                double mabs = sabs / c;
                double mg = 0;
                double mgx = 0;
                for (int i = 0; i < c; i++) {
                    double xhat = Math.abs((x[r * c + i] - mean[r]) * rstd) + rstd * mabs;
                    mg += Math.abs(dy[r * c + i] * w[i]);
                    mgx += Math.abs(dy[r * c + i] * w[i]) * xhat;
                }
                mg /= c;
                mgx /= c;
                for (int i = 0; i < c; i++) {
                    int k = r * c + i;
                    double xhat = Math.abs((x[k] - mean[r]) * rstd) + rstd * mabs;
                    ty[k] = gRow * kappa * (Math.abs(w[i]) * xhat + Math.abs(b[i]));
                    tdx[k] = 2 * gRow * kappa * rstd * (Math.abs(dy[k] * w[i]) + mg + xhat * mgx);
                    tdw[i] += Math.abs(dy[k]) * xhat;
                    tdb[i] += Math.abs(dy[k]);
                }
            }
            for (int i = 0; i < c; i++) {
                tdw[i] *= gSum * kappaMax;
                tdb[i] *= gamma(rows);
            }
            assertClose(what, e.output(), a.output(), ty);
            assertClose(what + " mean", e.mean(), a.mean(), scaled(gRow, absMeans(x, rows, c)));
            assertClose(what + " backward input", eg.input(), ag.input(), tdx);
            assertClose(what + " backward weight", eg.weight(), ag.weight(), tdw);
            assertClose(what + " backward bias", eg.bias(), ag.bias(), tdb);
        }
    }

    private static double[] absMeans(float[] x, int rows, int c) {
        double[] m = new double[rows];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < c; i++) {
                m[r] += Math.abs(x[r * c + i]) / c;
            }
        }
        return m;
    }

    private static double[] scaled(double g, double[] v) {
        double[] t = v.clone();
        for (int i = 0; i < t.length; i++) {
            t[i] *= g;
        }
        return t;
    }

    /** Inputs in [-4, 4] (GELU's whole bend). */
    static void gelu(Shape xs, boolean tanh, boolean channelsLast, long seed) {
        String what = (tanh ? "gelu tanh " : "gelu ") + xs;
        try (Scope scope = Scope.open()) {
            float[] x = random(xs.numel(), seed);
            for (int i = 0; i < x.length; i++) {
                x[i] *= 4;
            }
            float[] dy = random(xs.numel(), seed + 1);
            NDArray e = REF.gelu(ref64(x, xs), tanh);
            NDArray a = CPU.gelu(cpu(x, xs, channelsLast), tanh);
            NDArray ed = REF.geluBackward(ref64(dy, xs), ref64(x, xs), tanh);
            NDArray ad = CPU.geluBackward(cpu(dy, xs, !channelsLast), cpu(x, xs, channelsLast), tanh);
            double[] ev = e.toDoubleArray();
            double[] ty = new double[x.length];
            double[] td = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                ty[i] = 8 * U * (Math.abs(x[i]) + Math.abs(ev[i]));
                td[i] = 8 * U * Math.abs(dy[i]) * (1 + Math.abs(x[i])) * 2;
            }
            assertClose(what, e, a, ty);
            assertClose(what + " backward", ed, ad, td);
        }
    }

    static void roll(Shape xs, int[] shifts, int[] axes, boolean channelsLast, long seed) {
        try (Scope scope = Scope.open()) {
            float[] x = random(xs.numel(), seed);
            assertExact("roll " + xs + " shifts " + Arrays.toString(shifts) + " axes " + Arrays.toString(axes),
                    REF.roll(ref64(x, xs), shifts, axes), CPU.roll(cpu(x, xs, channelsLast), shifts, axes));
        }
    }

    static void rollPadCrop(Shape xs, int[] shifts, int[] axes, int[] before, int[] after, boolean channelsLast, long seed) {
        String what = xs + " shifts " + Arrays.toString(shifts) + " axes " + Arrays.toString(axes) + " pads "
                + Arrays.toString(before) + " " + Arrays.toString(after);
        try (Scope scope = Scope.open()) {
            float[] x = random(xs.numel(), seed);
            NDArray rolled = CPU.roll(cpu(x, xs, channelsLast), shifts, axes);
            assertExact("roll " + what, REF.roll(ref64(x, xs), shifts, axes), rolled);
            NDArray padded = CPU.pad(cpu(x, xs, channelsLast), before, after);
            assertExact("pad " + what, REF.pad(ref64(x, xs), before, after), padded);
            assertExact("crop of pad " + what, ref64(x, xs), CPU.crop(padded, before, xs));
        }
    }
}
