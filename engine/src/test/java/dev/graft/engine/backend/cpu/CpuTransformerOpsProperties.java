package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
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
import static dev.graft.engine.backend.cpu.Oracle.abs;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.gamma;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref64;
import static dev.graft.engine.backend.cpu.Oracle.summationTolerance;

/**
 * The attention-side transformer kernels on cpu (CpuTransformer: oneDNN batched matmul, softmax_accurate, reorder
 * for permute; run copies for concat and narrow) against the reference in F64 at small random shapes;
 * CpuRealisticTransformerOpsProperties runs DeiT-S's and Swin-T's sizes with the same checks.
 *
 * <p>Tolerances. Batched matmul: each output is a dot product of K terms of float products, the summation bound
 * gamma(K) * sum|a||b| (the reference applied to |a| and |b|), whatever order oneDNN sums in. Softmax forward:
 * y_i = e_i / sum e_j; in float x_i - max rounds once (|x_i - max| <= 2 for inputs in [-1, 1]: relative error 2u
 * in e_i), the exponential is within a few ulps (we allow 8u), the sum of C terms adds gamma(C), the division u:
 * |dy| <= (gamma(C) + 12u) y. Softmax backward dx_i = y_i (dy_i - sum_j dy_j y_j), y given exactly to both: the dot
 * product of C terms gamma(C) * sum|dy_j| y_j, the difference and product two more roundings:
 * gamma(C + 2) * y_i (|dy_i| + sum|dy_j| y_j). Permute, concat, narrow and index_select are copies: exact.
 */
class CpuTransformerOpsProperties {

    @Property(tries = 60)
    void batchedMatmulMatchesReference(@ForAll @IntRange(min = 1, max = 4) int batch, @ForAll @IntRange(min = 1, max = 9) int m,
                                       @ForAll @IntRange(min = 1, max = 9) int k, @ForAll @IntRange(min = 1, max = 9) int n,
                                       @ForAll boolean transA, @ForAll boolean transB, @ForAll long seed) {
        bmm(batch, m, k, n, transA, transB, seed);
    }

    /** Forward and both backward products (as BatchedMatMulFunction runs them) of one case. */
    static void bmm(int batch, int m, int k, int n, boolean transA, boolean transB, long seed) {
        Shape as = transA ? Shape.of(batch, k, m) : Shape.of(batch, m, k);
        Shape bs = transB ? Shape.of(batch, n, k) : Shape.of(batch, k, n);
        try (Scope scope = Scope.open()) {
            float[] a = random(as.numel(), seed);
            float[] b = random(bs.numel(), seed + 1);
            String what = "bmm " + as + (transA ? "^T" : "") + " x " + bs + (transB ? "^T" : "");
            NDArray expected = REF.batchedGemm(ref64(a, as), ref64(b, bs), transA, transB);
            NDArray actual = CPU.batchedGemm(cpu(a, as), cpu(b, bs), transA, transB);
            assertClose(what, expected, actual,
                    summationTolerance(k, REF.batchedGemm(ref64(abs(a), as), ref64(abs(b), bs), transA, transB)));
            // dA = dC op(B)^T (k terms of n); checked as the kernel call the backward makes when transA is false.
            Shape cs = Shape.of(batch, m, n);
            float[] dc = random(cs.numel(), seed + 2);
            NDArray ge = REF.batchedGemm(ref64(dc, cs), ref64(b, bs), false, !transB);
            NDArray ga = CPU.batchedGemm(cpu(dc, cs), cpu(b, bs), false, !transB);
            assertClose(what + " backward (dC op(B)^T)", ge, ga,
                    summationTolerance(n, REF.batchedGemm(ref64(abs(dc), cs), ref64(abs(b), bs), false, !transB)));
        }
    }

    /**
     * Linear with bias in one matmul (tokens' linears) and the bias gradient as a ones-vector product, against the
     * reference's gemm + add and sumTo in F64. Each output is K products plus the bias: the summation bound
     * gamma(K + 1) * (sum|x||w| + |b|); a bias-gradient entry sums M terms: gamma(M) * sum|dy|.
     */
    @Property(tries = 60)
    void linearMatchesReference(@ForAll @IntRange(min = 1, max = 20) int m, @ForAll @IntRange(min = 1, max = 20) int k,
                                @ForAll @IntRange(min = 1, max = 20) int n, @ForAll long seed) {
        Shape xs = Shape.of(m, k);
        Shape ws = Shape.of(n, k);
        Shape bs = Shape.of(n);
        try (Scope scope = Scope.open()) {
            float[] x = random(xs.numel(), seed);
            float[] w = random(ws.numel(), seed + 1);
            float[] b = random(n, seed + 2);
            String what = "linear " + xs + " x " + ws + "^T + b";
            NDArray expected = REF.linear(ref64(x, xs), ref64(w, ws), ref64(b, bs));
            NDArray actual = CPU.linear(cpu(x, xs), cpu(w, ws), cpu(b, bs));
            NDArray bound = REF.linear(ref64(abs(x), xs), ref64(abs(w), ws), ref64(abs(b), bs));
            assertClose(what, expected, actual, summationTolerance(k + 1, bound));
            Shape ys = Shape.of(m, n);
            float[] dy = random(ys.numel(), seed + 3);
            NDArray ge = REF.biasGrad(ref64(dy, ys));
            NDArray ga = CPU.biasGrad(cpu(dy, ys));
            assertClose(what + " bias gradient", ge, ga, summationTolerance(m, REF.biasGrad(ref64(abs(dy), ys))));
        }
    }

    /**
     * Linear with bias then the exact GELU as one matmul with oneDNN's gelu_erf post-op (a transformer MLP's first
     * layer at inference) against the reference's linear then gelu in F64. Tolerance: the pre-activation z carries
     * the linear bound d = gamma(K + 1) * (sum|x||w| + |b|); GELU's derivative lies in [-0.13, 1.13], so that error
     * reaches the output as at most 1.13 d (we allow 1.2 d). The float GELU itself, z/2 (1 + erf(z / sqrt 2)) with
     * erf approximated to a few ulps of 1 and three roundings, errs by a few u |z|: we allow 16 u |z| (z from the
     * F64 reference).
     */
    @Property(tries = 40)
    void linearGeluMatchesReference(@ForAll @IntRange(min = 1, max = 20) int m, @ForAll @IntRange(min = 1, max = 40) int k,
                                    @ForAll @IntRange(min = 1, max = 20) int n, @ForAll long seed) {
        linearGelu(m, k, n, seed);
    }

    /** One case of {@link #linearGeluMatchesReference}: x [m, k], w [n, k], b [n], uniform in [-1, 1]. */
    static void linearGelu(int m, int k, int n, long seed) {
        Shape xs = Shape.of(m, k);
        Shape ws = Shape.of(n, k);
        Shape bs = Shape.of(n);
        try (Scope scope = Scope.open()) {
            float[] x = random(xs.numel(), seed);
            float[] w = random(ws.numel(), seed + 1);
            float[] b = random(n, seed + 2);
            String what = "linear gelu " + xs + " x " + ws + "^T + b";
            NDArray z = REF.linear(ref64(x, xs), ref64(w, ws), ref64(b, bs));
            NDArray expected = REF.gelu(z, false);
            NDArray actual = CPU.linearGelu(cpu(x, xs), cpu(w, ws), cpu(b, bs));
            double[] tol = summationTolerance(k + 1, REF.linear(ref64(abs(x), xs), ref64(abs(w), ws), ref64(abs(b), bs)));
            double[] zs = z.toDoubleArray();
            for (int i = 0; i < tol.length; i++) {
                tol[i] = 1.2 * tol[i] + 16 * U * Math.abs(zs[i]);
            }
            assertClose(what, expected, actual, tol);
        }
    }

    /**
     * Linear with bias plus a residual [M, N] as one matmul with oneDNN's binary-add post-op (an output projection and
     * its skip connection at inference) against the reference's linear then add in F64. Each output is K products,
     * the bias and the residual: the summation bound gamma(K + 2) * (sum|x||w| + |b| + |r|).
     */
    @Property(tries = 40)
    void linearAddMatchesReference(@ForAll @IntRange(min = 1, max = 20) int m, @ForAll @IntRange(min = 1, max = 40) int k,
                                   @ForAll @IntRange(min = 1, max = 20) int n, @ForAll long seed) {
        linearAdd(m, k, n, seed);
    }

    /** One case of {@link #linearAddMatchesReference}: x [m, k], w [n, k], b [n], residual [m, n], uniform in [-1, 1]. */
    static void linearAdd(int m, int k, int n, long seed) {
        Shape xs = Shape.of(m, k);
        Shape ws = Shape.of(n, k);
        Shape bs = Shape.of(n);
        Shape ys = Shape.of(m, n);
        try (Scope scope = Scope.open()) {
            float[] x = random(xs.numel(), seed);
            float[] w = random(ws.numel(), seed + 1);
            float[] b = random(n, seed + 2);
            float[] r = random(ys.numel(), seed + 3);
            String what = "linear add " + xs + " x " + ws + "^T + b + r";
            NDArray expected = REF.add(ref64(r, ys), REF.linear(ref64(x, xs), ref64(w, ws), ref64(b, bs)));
            NDArray actual = CPU.linearAdd(cpu(x, xs), cpu(w, ws), cpu(b, bs), cpu(r, ys));
            NDArray bound = REF.add(ref64(abs(r), ys), REF.linear(ref64(abs(x), xs), ref64(abs(w), ws), ref64(abs(b), bs)));
            assertClose(what, expected, actual, summationTolerance(k + 2, bound));
        }
    }

    /**
     * Packed multi-head self-attention (CpuTransformer reads q, k, v in place through strided matmul descriptors and
     * writes the merged heads and d qkv the same way) against the reference's composition (permute, narrow, batched
     * matmul, scale, softmax; Backend's default) in F64, forward and backward. Tolerance, inputs and dOut uniform in
     * [-1, 1], scale 1/sqrt(d): a score is a d-term dot product (error gamma(d) d scale), softmax adds gamma(T) plus
     * a few u relative to each probability, and an output sums T probability-weighted terms of |v| <= 1 (probabilities
     * sum to 1): |error| <= (2 gamma(T) + gamma(d) d + 16u). The gradients chain three more products of at most
     * T or d terms of magnitude at most max(T, d); we allow 8 (T + d)^2 u for them, above that chain's first-order bound.
     */
    @Property(tries = 60)
    void packedAttentionMatchesReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 3) int heads,
                                         @ForAll @IntRange(min = 1, max = 9) int t, @ForAll @IntRange(min = 1, max = 8) int d,
                                         @ForAll long seed) {
        packedAttention(n, heads, t, d, seed);
    }

    static void packedAttention(int n, int heads, int t, int d, long seed) {
        int c = heads * d;
        Shape qs = Shape.of(n, t, 3 * c);
        Shape os = Shape.of(n, t, c);
        double scale = 1 / Math.sqrt(d);
        try (Scope scope = Scope.open()) {
            float[] qkv = random(qs.numel(), seed);
            float[] dOut = random(os.numel(), seed + 1);
            String what = "packed attention N=" + n + " heads=" + heads + " T=" + t + " d=" + d;
            NDArray[] expected = REF.packedAttention(ref64(qkv, qs), heads, scale);
            NDArray[] actual = CPU.packedAttention(cpu(qkv, qs), heads, scale);
            double fwd = 2 * gamma(t) + gamma(d) * d + 16 * U;
            assertClose(what, expected[0], actual[0], filled(os.numel(), fwd));
            assertClose(what + " probabilities", expected[1], actual[1], filled(n * heads * t * t, fwd));
            // both backward passes get the cpu's probabilities, as the backward gets the saved ones
            float[] probs = actual[1].toFloatArray();
            Shape ps = actual[1].shape();
            NDArray ge = REF.packedAttentionBackward(ref64(dOut, os), ref64(qkv, qs), ref64(probs, ps), heads, scale);
            NDArray ga = CPU.packedAttentionBackward(cpu(dOut, os), cpu(qkv, qs), cpu(probs, ps), heads, scale);
            assertClose(what + " backward", ge, ga, filled(qs.numel(), 8.0 * (t + d) * (t + d) * U));
        }
    }

    private static double[] filled(int n, double v) {
        double[] a = new double[n];
        Arrays.fill(a, v);
        return a;
    }

    @Property(tries = 60)
    void softmaxMatchesReference(@ForAll("shapes") int[] dims, @ForAll long seed) {
        softmax(Shape.of(dims), 1, seed);
    }

    /** Inputs uniform in [-spread, spread] (attention scores are scaled by 1/sqrt(d)). */
    static void softmax(Shape s, double spread, long seed) {
        try (Scope scope = Scope.open()) {
            float[] x = random(s.numel(), seed);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (x[i] * spread);
            }
            String what = "softmax " + s;
            NDArray expected = REF.softmax(ref64(x, s));
            NDArray actual = CPU.softmax(cpu(x, s));
            int c = s.dim(-1);
            double[] y = expected.toDoubleArray();
            double[] tol = new double[y.length];
            double per = gamma(c) + (4 * spread + 8) * U; // argument error 2*spread*u relative, exp 8u, division u
            for (int i = 0; i < y.length; i++) {
                tol[i] = per * y[i];
            }
            assertClose(what, expected, actual, tol);
            float[] yf = actual.toFloatArray(); // both get the same y, as the backward gets the saved output
            float[] dy = random(s.numel(), seed + 1);
            NDArray dxe = REF.softmaxBackward(ref64(dy, s), ref64(yf, s));
            NDArray dxa = CPU.softmaxBackward(cpu(dy, s), cpu(yf, s));
            double[] tb = new double[y.length];
            for (int r = 0; r < y.length / c; r++) {
                double dot = 0;
                for (int j = 0; j < c; j++) {
                    dot += Math.abs(dy[r * c + j]) * yf[r * c + j];
                }
                for (int j = 0; j < c; j++) {
                    tb[r * c + j] = gamma(c + 2) * yf[r * c + j] * (Math.abs(dy[r * c + j]) + dot);
                }
            }
            assertClose(what + " backward", dxe, dxa, tb);
        }
    }

    @Provide
    Arbitrary<int[]> shapes() {
        return Arbitraries.integers().between(1, 5).array(int[].class).ofMinSize(1).ofMaxSize(5);
    }

    /**
     * Copies, exact on both backends. The index-select part covers {@link dev.graft.engine.functions.IndexSelectFunction}'s
     * kernels, but cpu uses the host default that the reference also uses, so it only guards the cpu path's layout
     * handling; the gather itself is held to torch ({@code TransformerAttentionValuesTest}) and to F64 differences.
     */
    @Property(tries = 60)
    void permuteConcatNarrowAreExact(@ForAll("shapes") int[] dims, @ForAll long seed) {
        layout(Shape.of(dims), seed);
    }

    /** A permutation drawn from the seed, a cat of two parts and a narrow along a drawn axis, index_select: exact. */
    static void layout(Shape s, long seed) {
        Random r = new Random(seed);
        int rank = s.rank();
        int[] perm = new int[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = i;
        }
        for (int i = rank - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int axis = r.nextInt(rank);
        try (Scope scope = Scope.open()) {
            float[] x = random(s.numel(), seed);
            String what = s + " perm " + Arrays.toString(perm) + " axis " + axis;
            assertExact("permute " + what, REF.permute(ref64(x, s), perm), CPU.permute(cpu(x, s), perm));
            int len = s.dim(axis);
            int start = r.nextInt(len);
            int length = 1 + r.nextInt(len - start);
            assertExact("narrow(" + start + ", " + length + ") " + what, REF.narrow(ref64(x, s), axis, start, length),
                    CPU.narrow(cpu(x, s), axis, start, length));
            int[] other = s.dims();
            other[axis] = 1 + r.nextInt(3);
            Shape os = Shape.of(other);
            float[] y = random(os.numel(), seed + 1);
            assertExact("cat " + what, REF.concat(new NDArray[] {ref64(x, s), ref64(y, os)}, axis),
                    CPU.concat(new NDArray[] {cpu(x, s), cpu(y, os)}, axis));
            int[] index = r.ints(5, 0, len).toArray();
            assertExact("index_select " + Arrays.toString(index) + " " + what, REF.indexSelect(ref64(x, s), axis, index),
                    CPU.indexSelect(cpu(x, s), axis, index));
        }
    }

    /** A channels-last 4-D input (a conv's output) goes through permute after the Function reorders it. */
    @Property(tries = 20)
    void channelsLastInputsArePermutedAsLogicalNchw(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 2, max = 5) int c,
                                                    @ForAll @IntRange(min = 2, max = 4) int h, @ForAll long seed) {
        Shape s = Shape.of(n, c, h, h);
        try (Scope scope = Scope.open()) {
            float[] x = random(s.numel(), seed);
            NDArray cl = cpu(x, s, true);
            int[] perm = {0, 2, 3, 1};
            assertExact("permute NHWC input", REF.permute(ref64(x, s), perm), CPU.permute(cl.reshape(s), perm));
        }
    }
}
