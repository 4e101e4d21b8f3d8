package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.Pooled;
import net.jqwik.api.Assume;
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
import static dev.graft.engine.backend.cpu.Oracle.integers;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref;
import static dev.graft.engine.backend.cpu.Oracle.summationTolerance;

/**
 * Max pooling (forward exact; backward sums at most ceil(k/s) per axis overlapping windows' gradients into
 * one input, so its tolerance is the summation bound for that many terms) and global average pooling
 * (a mean over H*W: summation bound for H*W terms; its backward is dy / (H*W), one rounding). Integer-valued
 * inputs make ties frequent: the gradient must go to the first maximum in scan order, as in PyTorch. Inputs
 * with NaN and infinities must propagate NaN and give -inf for a window of -inf, as PyTorch does.
 */
class CpuPoolingProperties {

    @Property(tries = 60)
    void maxPoolMatchesReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 5) int c,
                                 @ForAll @IntRange(min = 1, max = 9) int h, @ForAll @IntRange(min = 1, max = 9) int w,
                                 @ForAll @IntRange(min = 1, max = 4) int kh, @ForAll @IntRange(min = 1, max = 4) int kw,
                                 @ForAll @IntRange(min = 1, max = 4) int sh, @ForAll @IntRange(min = 1, max = 4) int sw,
                                 @ForAll @IntRange(min = 0, max = 2) int ph, @ForAll @IntRange(min = 0, max = 2) int pw,
                                 @ForAll("values") String values, @ForAll boolean training, @ForAll boolean channelsLast,
                                 @ForAll long seed) {
        Assume.that(2 * ph <= kh && 2 * pw <= kw);
        Pool2dSpec spec = new Pool2dSpec(kh, kw, sh, sw, ph, pw);
        int oh = Conv2dSpec.outputSize(h, kh, sh, ph, 1);
        int ow = Conv2dSpec.outputSize(w, kw, sw, pw, 1);
        Assume.that(oh >= 1 && ow >= 1);
        Shape xs = Shape.of(n, c, h, w);
        Shape ys = Shape.of(n, c, oh, ow);
        try (Scope scope = Scope.open()) {
            float[] x = data(values, xs.numel(), seed);
            float[] dy = random(ys.numel(), seed + 1);
            NDArray xr = ref(x, xs);
            NDArray xc = cpu(x, xs, channelsLast);
            Pooled e = REF.maxPool2d(xr, spec, training);
            Pooled a = CPU.maxPool2d(xc, spec, training);
            assertExact("max pool " + spec, e.output(), a.output());
            // Backward also runs after an inference-mode forward (no workspace): the cpu backend recomputes.
            NDArray dxe = REF.maxPool2dBackward(ref(dy, ys), xr, e, spec);
            NDArray bound = REF.maxPool2dBackward(ref(abs(dy), ys), xr, e, spec);
            NDArray dxa = CPU.maxPool2dBackward(cpu(dy, ys, !channelsLast), xc, a, spec);
            long overlap = (long) ((kh + sh - 1) / sh) * ((kw + sw - 1) / sw);
            assertClose("max pool backward " + spec, dxe, dxa, summationTolerance(overlap, bound));
        }
    }

    /** Random floats, small integers (ties), or floats with NaN, +inf and -inf sprinkled in. */
    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<String> values() {
        return net.jqwik.api.Arbitraries.of("floats", "ties", "nonfinite");
    }

    private static float[] data(String kind, int numel, long seed) {
        switch (kind) {
            case "ties":
                return integers(numel, 2, seed);
            case "nonfinite": {
                float[] v = integers(numel, 2, seed);
                Random r = new Random(seed + 7);
                float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
                for (int i = 0; i < numel; i++) {
                    if (r.nextInt(4) == 0) {
                        v[i] = specials[r.nextInt(3)];
                    }
                }
                return v;
            }
            default:
                return random(numel, seed);
        }
    }

    @Property(tries = 30)
    void globalAvgPoolMatchesReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 6) int c,
                                       @ForAll @IntRange(min = 1, max = 9) int h, @ForAll @IntRange(min = 1, max = 9) int w,
                                       @ForAll boolean channelsLast, @ForAll long seed) {
        Shape xs = Shape.of(n, c, h, w);
        Shape ys = Shape.of(n, c, 1, 1);
        try (Scope scope = Scope.open()) {
            float[] x = random(xs.numel(), seed);
            float[] dy = random(ys.numel(), seed + 1);
            NDArray e = REF.globalAvgPool(ref(x, xs));
            NDArray bound = REF.globalAvgPool(ref(abs(x), xs));
            NDArray a = CPU.globalAvgPool(cpu(x, xs, channelsLast));
            assertClose("global average pool", e, a, summationTolerance((long) h * w, bound));
            NDArray dxe = REF.globalAvgPoolBackward(ref(dy, ys), xs);
            NDArray dxa = CPU.globalAvgPoolBackward(cpu(dy, ys, channelsLast), xs);
            double[] tol = dxe.toDoubleArray();
            for (int i = 0; i < tol.length; i++) {
                tol[i] = 2 * U * Math.abs(tol[i]);
            }
            assertClose("global average pool backward", dxe, dxa, tol);
        }
    }
}
