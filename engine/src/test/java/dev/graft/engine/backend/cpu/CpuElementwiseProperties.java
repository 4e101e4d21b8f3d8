package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.Random;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.abs;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref;
import static dev.graft.engine.backend.cpu.Oracle.summationTolerance;

/**
 * Elementwise kernels, broadcasting, layout changes, host copies and sums on cpu against the reference.
 * Everything elementwise is exact: one float operation (add, mul) is correctly rounded on both sides, and
 * the kernels computed in double and rounded once (scale, axpy) round the same double the reference does.
 * relu and its backward keep PyTorch's non-finite rules, so their inputs include NaN and infinities.
 * {@code sumTo} sums L = numel(x) / numel(target) values per output: summation bound for L terms.
 */
class CpuElementwiseProperties {

    /** A shape a, a shape b that broadcasts to it (leading dims dropped, some dims set to 1), and layouts. */
    record Pair(Shape a, Shape b, boolean aChannelsLast, boolean bChannelsLast) {
    }

    @Provide
    Arbitrary<Pair> pairs() {
        Arbitrary<int[]> dims = Arbitraries.integers().between(1, 5).array(int[].class).ofMinSize(0).ofMaxSize(4);
        return Combinators.combine(dims, Arbitraries.integers().between(0, 4), Arbitraries.integers().between(0, 15),
                        Arbitraries.of(false, true), Arbitraries.of(false, true))
                .as((d, drop, ones, acl, bcl) -> {
                    int keep = Math.max(0, d.length - drop);
                    int[] b = new int[keep];
                    for (int i = 0; i < keep; i++) {
                        int ai = d.length - keep + i;
                        b[i] = (ones >> ai & 1) == 1 ? 1 : d[ai];
                    }
                    return new Pair(Shape.of(d), Shape.of(b), acl, bcl);
                });
    }

    /** Uniform values with NaN, +inf, -inf and signed zeros sprinkled in. */
    private static float[] withSpecials(int n, long seed) {
        float[] v = random(n, seed);
        Random r = new Random(seed + 3);
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f};
        for (int i = 0; i < n; i++) {
            if (r.nextInt(5) == 0) {
                v[i] = specials[r.nextInt(specials.length)];
            }
        }
        return v;
    }

    private static NDArray on(float[] v, Shape s, boolean channelsLast) {
        return cpu(v, s, channelsLast);
    }

    @Property(tries = 60)
    void addAndMulBroadcastExactly(@ForAll("pairs") Pair p, @ForAll long seed) {
        try (Scope scope = Scope.open()) {
            float[] a = random(p.a().numel(), seed);
            float[] b = random(p.b().numel(), seed + 1);
            assertExact("add " + p, REF.add(ref(a, p.a()), ref(b, p.b())),
                    CPU.add(on(a, p.a(), p.aChannelsLast()), on(b, p.b(), p.bChannelsLast())));
            assertExact("mul " + p, REF.mul(ref(a, p.a()), ref(b, p.b())),
                    CPU.mul(on(a, p.a(), p.aChannelsLast()), on(b, p.b(), p.bChannelsLast())));
        }
    }

    @Property(tries = 40)
    void sumToMatchesReference(@ForAll("pairs") Pair p, @ForAll long seed) {
        try (Scope scope = Scope.open()) {
            float[] x = random(p.a().numel(), seed);
            NDArray e = REF.sumTo(ref(x, p.a()), p.b());
            NDArray bound = REF.sumTo(ref(abs(x), p.a()), p.b());
            NDArray a = CPU.sumTo(on(x, p.a(), p.aChannelsLast()), p.b());
            long terms = p.b().numel() == 0 ? 1 : Math.max(1, p.a().numel() / p.b().numel());
            assertClose("sumTo " + p, e, a, summationTolerance(terms, bound));
        }
    }

    @Property(tries = 40)
    void unaryKernelsAreExact(@ForAll("pairs") Pair p, @ForAll("alphas") double alpha, @ForAll long seed) {
        Shape s = p.a();
        try (Scope scope = Scope.open()) {
            float[] x = withSpecials(s.numel(), seed);
            float[] dy = withSpecials(s.numel(), seed + 1);
            float[] y = random(s.numel(), seed + 2);
            NDArray xr = ref(x, s);
            NDArray xc = on(x, s, p.aChannelsLast());
            assertExact("relu " + s, REF.relu(xr), CPU.relu(xc));
            NDArray yr = REF.relu(xr);
            NDArray yc = CPU.relu(xc);
            assertExact("relu backward " + s, REF.reluBackward(ref(dy, s), yr), CPU.reluBackward(on(dy, s, !p.aChannelsLast()), yc));
            assertExact("scale " + s, REF.scale(xr, alpha), CPU.scale(xc, alpha));

            NDArray yRef = ref(y, s);
            NDArray yCpu = on(y, s, p.aChannelsLast());
            REF.scaleInPlace(yRef, alpha);
            CPU.scaleInPlace(yCpu, alpha);
            assertExact("scaleInPlace " + s, yRef, yCpu);
            REF.axpyInPlace(yRef, alpha, xr);
            CPU.axpyInPlace(yCpu, alpha, on(x, s, !p.aChannelsLast()));
            assertExact("axpyInPlace " + s, yRef, yCpu);
            REF.fill(yRef, alpha);
            CPU.fill(yCpu, alpha);
            assertExact("fill " + s, yRef, yCpu);
            CPU.fill(yCpu, 0);
            REF.fill(yRef, 0);
            assertExact("fill 0 " + s, yRef, yCpu);
        }
    }

    @Property(tries = 30)
    void layoutsAndHostCopiesRoundTrip(@ForAll("pairs") Pair p, @ForAll long seed) {
        Shape s = p.a();
        try (Scope scope = Scope.open()) {
            float[] x = withSpecials(s.numel(), seed);
            NDArray expected = ref(x, s);
            NDArray a = on(x, s, p.aChannelsLast());
            assertExact("upload " + s, expected, a);
            Layout other = s.rank() == 4 && a.layout() == Layout.ROW_MAJOR ? Layout.CHANNELS_LAST : Layout.ROW_MAJOR;
            assertExact("toLayout " + other + " " + s, expected, CPU.toLayout(a, other));
            NDArray dst = CPU.empty(DType.F32, s, s.rank() == 4 && p.bChannelsLast() ? Layout.CHANNELS_LAST : Layout.ROW_MAJOR);
            CPU.copyInto(dst, a);
            assertExact("copyInto " + s, expected, dst);
            CPU.fill(dst, 0);
            CPU.copyFromHost(dst, x);
            assertExact("copyFromHost " + s, expected, dst);
            assertExact("copy " + s, expected, CPU.copy(dst));
            double[] wide = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                wide[i] = x[i] + (double) Math.ulp(x[i]) / 3;
            }
            assertExact("fromHost(double[]) rounds to F32 " + s, REF.fromHost(wide, s, DType.F32), CPU.fromHost(wide, s, DType.F32));
            double[] d = CPU.toHostDoubles(dst);
            for (int i = 0; i < x.length; i++) {
                if (Double.compare(d[i], x[i]) != 0) {
                    throw new AssertionError("toHostDoubles " + s + " element " + i + ": " + d[i] + " vs " + x[i]);
                }
            }
        }
    }

    @Property(tries = 30)
    void sumOfSquaresMatchesReference(@ForAll("pairs") Pair p, @ForAll long seed) {
        try (Scope scope = Scope.open()) {
            float[] x = random(p.a().numel(), seed);
            double e = REF.sumOfSquares(ref(x, p.a()));
            double a = CPU.sumOfSquares(on(x, p.a(), p.aChannelsLast()));
            // Both accumulate in double, in different orders: bound for n terms at u = 2^-53.
            double tol = (x.length + 1) * Math.scalb(1.0, -53) * e;
            if (!(Math.abs(a - e) <= tol)) {
                throw new AssertionError("sumOfSquares " + p + ": " + a + " vs " + e + " (tolerance " + tol + ")");
            }
        }
    }

    @Provide
    Arbitrary<Double> alphas() {
        return Arbitraries.of(0.0, 1.0, -1.0, 0.1, -2.5, 1.0 / 3, 1e-3, 7.25);
    }
}
