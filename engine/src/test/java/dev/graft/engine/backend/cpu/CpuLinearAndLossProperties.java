package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.util.Random;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.U;
import static dev.graft.engine.backend.cpu.Oracle.abs;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref;
import static dev.graft.engine.backend.cpu.Oracle.summationTolerance;

/**
 * gemm with every transpose combination (summation bound for K terms from |A||B|), log-softmax over rows of
 * C classes and its backward, and the weighted, label-smoothed NLL. Log-softmax: y = x - max - log(sum exp),
 * the float sum of C exponentials (each <= 1, the largest = 1) is off by at most about C*u relative, which is
 * C*u absolute after the log; plus a few roundings of |x| and |y|: tolerance (C + 4) * u * (1 + |x| + |y|).
 * Its backward dy - exp(y) * sum(dy): the row sum of C terms, (C + 4) * u * (|dy| + exp(y) * sum|dy|).
 * NLL and its gradient are double-precision loops on both sides over the same floats: exact.
 */
class CpuLinearAndLossProperties {
    /** Units of u allowed for oneDNN's approximate exp/log inside softmax (measured worst: 38). */
    static final int APPROX = 64;

    @Property(tries = 40)
    void gemmMatchesReference(@ForAll @IntRange(min = 1, max = 9) int m, @ForAll @IntRange(min = 0, max = 40) int k,
                              @ForAll @IntRange(min = 1, max = 9) int n, @ForAll boolean transA, @ForAll boolean transB,
                              @ForAll long seed) {
        Shape as = transA ? Shape.of(k, m) : Shape.of(m, k);
        Shape bs = transB ? Shape.of(n, k) : Shape.of(k, n);
        try (Scope scope = Scope.open()) {
            float[] a = random(as.numel(), seed);
            float[] b = random(bs.numel(), seed + 1);
            NDArray e = REF.gemm(ref(a, as), ref(b, bs), transA, transB);
            NDArray bound = REF.gemm(ref(abs(a), as), ref(abs(b), bs), transA, transB);
            NDArray got = CPU.gemm(cpu(a, as), cpu(b, bs), transA, transB);
            assertClose("gemm " + as + (transA ? "^T" : "") + " @ " + bs + (transB ? "^T" : ""), e, got,
                    summationTolerance(Math.max(k, 1), bound));
        }
    }

    @Property(tries = 30)
    void logSoftmaxMatchesReference(@ForAll @IntRange(min = 1, max = 6) int n, @ForAll @IntRange(min = 1, max = 50) int c,
                                    @ForAll @IntRange(min = 0, max = 20) int scale, @ForAll long seed) {
        Shape s = Shape.of(n, c);
        try (Scope scope = Scope.open()) {
            float[] x = random(s.numel(), seed);
            for (int i = 0; i < x.length; i++) {
                x[i] *= scale;
            }
            float[] dy = random(s.numel(), seed + 1);
            NDArray e = REF.logSoftmax(ref(x, s));
            NDArray got = CPU.logSoftmax(cpu(x, s));
            float[] y = e.toFloatArray();
            double[] tol = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                tol[i] = (c + 4 + APPROX) * U * (1 + Math.abs(x[i]) + Math.abs(y[i]));
            }
            assertClose("log-softmax " + s + " scale " + scale, e, got, tol);

            NDArray de = REF.logSoftmaxBackward(ref(dy, s), e);
            NDArray dg = CPU.logSoftmaxBackward(cpu(dy, s), cpu(y, s));
            double[] tolB = new double[x.length];
            for (int i = 0; i < n; i++) {
                double rowAbs = 0;
                for (int j = 0; j < c; j++) {
                    rowAbs += Math.abs(dy[i * c + j]);
                }
                for (int j = 0; j < c; j++) {
                    tolB[i * c + j] = (c + 4 + APPROX) * U * (Math.abs(dy[i * c + j]) + Math.exp(y[i * c + j]) * rowAbs);
                }
            }
            assertClose("log-softmax backward " + s, de, dg, tolB);
        }
    }

    /**
     * A confident classifier's rows: the labelled logit 8-40 above the rest. The cross-entropy gradient of that logit
     * is p - 1 = -s / (1 + s), s being the sum of the other exponentials, tiny; every weight gradient is proportional
     * to it, so it must keep its relative precision (the network fuzzer found oneDNN's float log-softmax returning it
     * with an absolute error of 6e-8, wrong in every digit, which put fc gradients 1e-4 off). The oracle is that closed
     * form, written here in double from the float logits: (p_j - [j = label]) / N. The cpu's composed gradient (nll
     * backward, then log-softmax backward) must be within 128 u of it relative to each element's own magnitude: the
     * log-probabilities pass through float (relative error u of values up to |40|, so up to 40 u in exp of them) plus
     * a few roundings.
     */
    @Property(tries = 40)
    void saturatedCrossEntropyGradientKeepsRelativePrecision(@ForAll @IntRange(min = 1, max = 6) int n,
                                                            @ForAll @IntRange(min = 2, max = 20) int c,
                                                            @ForAll @IntRange(min = 8, max = 40) int gap, @ForAll long seed) {
        Shape s = Shape.of(n, c);
        Random r = new Random(seed);
        float[] x = random(s.numel(), seed);
        int[] labels = new int[n];
        double[] expected = new double[x.length];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(c);
            x[i * c + labels[i]] += gap;
            double top = x[i * c + labels[i]];
            double others = 0;
            for (int j = 0; j < c; j++) {
                if (j != labels[i]) {
                    others += Math.exp(x[i * c + j] - top);
                }
            }
            for (int j = 0; j < c; j++) {
                expected[i * c + j] = (j == labels[i] ? -others / (1 + others) : Math.exp(x[i * c + j] - top) / (1 + others)) / n;
            }
        }
        try (Scope scope = Scope.open()) {
            NDArray lp = CPU.logSoftmax(cpu(x, s));
            NDArray actual = CPU.logSoftmaxBackward(CPU.nllLossBackward(CPU.fromHost(new float[] {1}, Shape.scalar()), lp,
                    labels, null, 0), lp);
            double[] tol = new double[expected.length];
            for (int i = 0; i < tol.length; i++) {
                tol[i] = 128 * U * Math.abs(expected[i]);
            }
            assertClose("saturated cross-entropy gradient " + s + " gap " + gap, REF.fromHost(expected, s, dev.graft.engine.DType.F64),
                    actual, tol);
        }
    }

    @Property(tries = 30)
    void nllLossIsExact(@ForAll @IntRange(min = 1, max = 8) int n, @ForAll @IntRange(min = 1, max = 12) int c,
                        @ForAll boolean weighted, @ForAll("smoothing") double smoothing, @ForAll long seed) {
        Shape s = Shape.of(n, c);
        Random r = new Random(seed);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(c);
        }
        float[] weights = null;
        if (weighted) {
            weights = new float[c];
            for (int j = 0; j < c; j++) {
                weights[j] = 0.25f + r.nextFloat() * 2;
            }
        }
        try (Scope scope = Scope.open()) {
            float[] lp = random(s.numel(), seed + 1);
            for (int i = 0; i < lp.length; i++) {
                lp[i] = -3 * Math.abs(lp[i]);
            }
            NDArray e = REF.nllLoss(ref(lp, s), labels, weights, smoothing);
            NDArray got = CPU.nllLoss(cpu(lp, s), labels, weights, smoothing);
            assertExact("nll loss " + s, e, got);
            float[] g = {0.7f};
            assertExact("nll loss backward " + s, REF.nllLossBackward(ref(g, Shape.scalar()), ref(lp, s), labels, weights, smoothing),
                    CPU.nllLossBackward(cpu(g, Shape.scalar()), cpu(lp, s), labels, weights, smoothing));
        }
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<Double> smoothing() {
        return net.jqwik.api.Arbitraries.of(0.0, 0.1, 0.5, 1.0);
    }
}
