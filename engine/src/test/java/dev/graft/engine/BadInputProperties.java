package dev.graft.engine;

import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.testing.Devices;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

import java.util.Arrays;
import java.util.List;

/**
 * The op boundary accepts exactly what PyTorch's rules allow: sizes, hyper-parameters and labels are drawn
 * from small ranges that include 0 and negatives; when the rules (restated here, independently of
 * {@link Functional}) allow the call it must succeed with the expected output shape, otherwise it must throw
 * a {@link ShapeException}. Any other exception (NPE, AIOOBE, IllegalArgumentException...) fails. Runs on
 * every available device.
 */
class BadInputProperties {

    /** Runs {@code op} on every device; {@code expected} null means the rules refuse the call. */
    private static void outcome(String what, int[] expected, java.util.function.Function<Device, Tensor> op) {
        // jqwik prints the split, to show both sides of each rule get exercised.
        Statistics.label(what.substring(0, what.indexOf('('))).collect(expected != null ? "valid" : "invalid");
        for (Device d : Devices.available()) {
            try (Scope s = Scope.open()) {
                Tensor y;
                try {
                    y = op.apply(d);
                } catch (ShapeException e) {
                    if (expected != null) {
                        throw new AssertionError(what + " on " + d + " is valid (expected output " + Arrays.toString(expected)
                                + ") but was refused: " + e.getMessage(), e);
                    }
                    continue;
                } catch (RuntimeException e) {
                    throw new AssertionError(what + " on " + d + " threw " + e, e);
                }
                if (expected == null) {
                    throw new AssertionError(what + " on " + d + " breaks a rule but was accepted, giving " + y.shape());
                }
                if (!Arrays.equals(expected, y.shape().dims())) {
                    throw new AssertionError(what + " on " + d + ": output " + y.shape() + ", expected " + Arrays.toString(expected));
                }
            }
        }
    }

    private static int[] ints(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    // ---- conv2d ---------------------------------------------------------------------------------------------

    record ConvDraw(List<Integer> x, List<Integer> w, List<Integer> strides, List<Integer> pads, List<Integer> dilations,
                    int groups, int biasSize) {
    }

    @Property(tries = 1000)
    void conv2dAcceptsExactlyTheValidCalls(@ForAll("convDraws") ConvDraw c) {
        int[] x = ints(c.x());
        int[] w = ints(c.w());
        Conv2dSpec spec = new Conv2dSpec(c.strides().get(0), c.strides().get(1), c.pads().get(0), c.pads().get(1),
                c.dilations().get(0), c.dilations().get(1), c.groups());
        outcome("conv2d(x " + Arrays.toString(x) + ", w " + Arrays.toString(w) + ", bias " + c.biasSize() + ", " + spec + ")",
                convOutput(x, w, spec, c.biasSize()),
                d -> Functional.conv2d(Tensor.zeros(d, DType.F32, x), Tensor.zeros(d, DType.F32, w),
                        c.biasSize() < 0 ? null : Tensor.zeros(d, DType.F32, c.biasSize()), spec));
    }

    /** PyTorch's rules (batch >= 1 too, which Graft adds); null when the call is invalid. */
    private static int[] convOutput(int[] x, int[] w, Conv2dSpec s, int biasSize) {
        if (s.strideH() < 1 || s.strideW() < 1 || s.padH() < 0 || s.padW() < 0 || s.dilationH() < 1 || s.dilationW() < 1
                || s.groups() < 1) {
            return null;
        }
        for (int v : x) {
            if (v < 1) {
                return null;
            }
        }
        for (int v : w) {
            if (v < 1) {
                return null;
            }
        }
        int g = s.groups();
        if (x[1] % g != 0 || w[0] % g != 0 || w[1] != x[1] / g || (biasSize >= 0 && biasSize != w[0])) {
            return null;
        }
        int ho = (x[2] + 2 * s.padH() - s.dilationH() * (w[2] - 1) - 1) / s.strideH() + 1;
        int wo = (x[3] + 2 * s.padW() - s.dilationW() * (w[3] - 1) - 1) / s.strideW() + 1;
        boolean fits = x[2] + 2 * s.padH() >= s.dilationH() * (w[2] - 1) + 1 && x[3] + 2 * s.padW() >= s.dilationW() * (w[3] - 1) + 1;
        return fits ? new int[] {x[0], w[0], ho, wo} : null;
    }

    /**
     * A valid call, then at most one mutation (about half the draws keep none): one size set to {@code v}
     * (0..4, so 0 and sizes that break divisibility or fit), or a stride / padding / dilation / groups / bias
     * size set to {@code v - 2} (-2..2). The rules above, not the mutation, decide validity.
     */
    @Provide
    Arbitrary<ConvDraw> convDraws() {
        Arbitrary<Integer> small = Arbitraries.integers().between(1, 3);
        Arbitrary<List<Integer>> base = Combinators.combine(
                Arbitraries.integers().between(1, 2), small, Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 2),
                small, small, Arbitraries.integers().between(1, 5), Arbitraries.integers().between(1, 5))
                .as((n, g, cpg, kpg, kh, kw, h, w) -> List.of(n, g, cpg, kpg, kh, kw, h, w));
        Arbitrary<List<Integer>> hyper = Combinators.combine(small, small, Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 2), Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 2),
                Arbitraries.of(true, false))
                .as((sh, sw, ph, pw, dh, dw, bias) -> List.of(sh, sw, ph, pw, dh, dw, bias ? 1 : 0));
        return Combinators.combine(base, hyper, Arbitraries.integers().between(0, 31), Arbitraries.integers().between(0, 4))
                .as(BadInputProperties::convDraw);
    }

    private static ConvDraw convDraw(List<Integer> b, List<Integer> h, int mutation, int v) {
        int g = b.get(1);
        int[] x = {b.get(0), g * b.get(2), b.get(6), b.get(7)};
        int[] w = {g * b.get(3), b.get(2), b.get(4), b.get(5)};
        int[] hp = {h.get(0), h.get(1), h.get(2), h.get(3), h.get(4), h.get(5)};
        int bias = h.get(6) == 1 ? w[0] : -1;
        if (mutation < 4) {
            x[mutation] = v;
        } else if (mutation < 8) {
            w[mutation - 4] = v;
        } else if (mutation < 14) {
            hp[mutation - 8] = v - 2;
        } else if (mutation == 14) {
            g = v - 2;
        } else if (mutation == 15) {
            bias = v;
        }
        return new ConvDraw(List.of(x[0], x[1], x[2], x[3]), List.of(w[0], w[1], w[2], w[3]), List.of(hp[0], hp[1]),
                List.of(hp[2], hp[3]), List.of(hp[4], hp[5]), g, bias);
    }

    // ---- max_pool2d -----------------------------------------------------------------------------------------

    record PoolDraw(List<Integer> x, List<Integer> kernel, List<Integer> stride, List<Integer> pad) {
    }

    @Property(tries = 1000)
    void maxPool2dAcceptsExactlyTheValidCalls(@ForAll("poolDraws") PoolDraw p) {
        int[] x = ints(p.x());
        Pool2dSpec spec = new Pool2dSpec(p.kernel().get(0), p.kernel().get(1), p.stride().get(0), p.stride().get(1),
                p.pad().get(0), p.pad().get(1));
        outcome("max_pool2d(x " + Arrays.toString(x) + ", " + spec + ")", poolOutput(x, spec),
                d -> Functional.maxPool2d(Tensor.zeros(d, DType.F32, x), spec));
    }

    private static int[] poolOutput(int[] x, Pool2dSpec s) {
        if (s.kernelH() < 1 || s.kernelW() < 1 || s.strideH() < 1 || s.strideW() < 1 || s.padH() < 0 || s.padW() < 0
                || 2 * s.padH() > s.kernelH() || 2 * s.padW() > s.kernelW()) {
            return null;
        }
        for (int v : x) {
            if (v < 1) {
                return null;
            }
        }
        if (x[2] + 2 * s.padH() < s.kernelH() || x[3] + 2 * s.padW() < s.kernelW()) {
            return null;
        }
        return new int[] {x[0], x[1], (x[2] + 2 * s.padH() - s.kernelH()) / s.strideH() + 1,
                (x[3] + 2 * s.padW() - s.kernelW()) / s.strideW() + 1};
    }

    /** A valid call (padding at most half the kernel), then at most one entry set to {@code v} in -1..4. */
    @Provide
    Arbitrary<PoolDraw> poolDraws() {
        Arbitrary<Integer> small = Arbitraries.integers().between(1, 3);
        return Combinators.combine(
                Combinators.combine(Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 2),
                        Arbitraries.integers().between(1, 5), Arbitraries.integers().between(1, 5)).as(List::of),
                Combinators.combine(small, small).as(List::of),
                Combinators.combine(small, small).as(List::of),
                Arbitraries.integers().between(0, 19), Arbitraries.integers().between(-1, 4))
                .as((x, k, st, mutation, v) -> {
                    int[] all = {x.get(0), x.get(1), x.get(2), x.get(3), k.get(0), k.get(1), st.get(0), st.get(1),
                            k.get(0) / 2, k.get(1) / 2};
                    if (mutation < all.length) {
                        all[mutation] = v;
                    }
                    return new PoolDraw(List.of(all[0], all[1], all[2], all[3]), List.of(all[4], all[5]),
                            List.of(all[6], all[7]), List.of(all[8], all[9]));
                });
    }

    // ---- reshape --------------------------------------------------------------------------------------------

    @Property(tries = 1000)
    void reshapeAcceptsExactlyTheValidCalls(@ForAll("smallShapes") List<Integer> from,
                                            @ForAll("reshapeTargets") List<Integer> to) {
        int[] f = ints(from);
        int[] t = ints(to);
        outcome("reshape(" + from + " -> " + to + ")", reshapeOutput(f, t), d -> Tensor.zeros(d, DType.F32, f).reshape(t));
    }

    private static int[] reshapeOutput(int[] from, int[] to) {
        int numel = Arrays.stream(from).reduce(1, (a, b) -> a * b);
        int infer = -1;
        int known = 1;
        for (int i = 0; i < to.length; i++) {
            if (to[i] == -1 && infer < 0) {
                infer = i;
            } else if (to[i] < 0) {
                return null;
            } else {
                known *= to[i];
            }
        }
        int[] out = to.clone();
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                return null; // PyTorch too: a -1 beside a 0 is ambiguous
            }
            out[infer] = numel / known;
        }
        return Arrays.stream(out).reduce(1, (a, b) -> a * b) == numel ? out : null;
    }

    @Provide
    Arbitrary<List<Integer>> smallShapes() {
        return Arbitraries.integers().between(0, 4).list().ofMaxSize(3);
    }

    @Provide
    Arbitrary<List<Integer>> reshapeTargets() {
        return Arbitraries.integers().between(-2, 6).list().ofMaxSize(3);
    }

    // ---- broadcasting add and mul --------------------------------------------------------------------------

    @Property(tries = 1000)
    void addAndMulAcceptExactlyBroadcastableShapes(@ForAll("smallShapes") List<Integer> a, @ForAll("smallShapes") List<Integer> b) {
        int[] x = ints(a);
        int[] y = ints(b);
        int[] expected = broadcastsTo(y, x) ? x : broadcastsTo(x, y) ? y : null;
        outcome("add(" + a + ", " + b + ")", expected, d -> Tensor.zeros(d, DType.F32, x).add(Tensor.zeros(d, DType.F32, y)));
        outcome("mul(" + a + ", " + b + ")", expected, d -> Tensor.zeros(d, DType.F32, x).mul(Tensor.zeros(d, DType.F32, y)));
    }

    /** One operand broadcasts to the other (Graft does not broadcast both ways at once). */
    private static boolean broadcastsTo(int[] from, int[] to) {
        if (from.length > to.length) {
            return false;
        }
        for (int i = 0; i < from.length; i++) {
            int f = from[from.length - 1 - i];
            if (f != 1 && f != to[to.length - 1 - i]) {
                return false;
            }
        }
        return true;
    }

    // ---- cross-entropy --------------------------------------------------------------------------------------

    record LossDraw(int n, int c, List<Integer> labels, List<Float> weights, double smoothing) {
    }

    @Property(tries = 1000)
    void crossEntropyAcceptsExactlyTheValidCalls(@ForAll("lossDraws") LossDraw l) {
        int[] labels = ints(l.labels());
        float[] weights = null;
        if (l.weights() != null) {
            weights = new float[l.weights().size()];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = l.weights().get(i);
            }
        }
        float[] w = weights;
        outcome("cross_entropy(logits [" + l.n() + ", " + l.c() + "], labels " + l.labels() + ", weights " + l.weights()
                        + ", smoothing " + l.smoothing() + ")", lossValid(l, labels, w) ? new int[0] : null,
                d -> Functional.crossEntropy(Tensor.zeros(d, DType.F32, l.n(), l.c()), labels, w, l.smoothing()));
    }

    private static boolean lossValid(LossDraw l, int[] labels, float[] w) {
        if (l.n() < 1 || l.c() < 1 || labels.length != l.n() || (w != null && w.length != l.c())
                || !(l.smoothing() >= 0 && l.smoothing() <= 1)) {
            return false;
        }
        double sum = 0;
        for (int y : labels) {
            if (y < 0 || y >= l.c()) {
                return false;
            }
            sum += w == null ? 1 : w[y];
        }
        return sum > 0;
    }

    /**
     * A valid call, then at most one mutation: no rows or classes, a label out of range, one label too many or
     * too few, one class weight too many, all weights 0, or a smoothing outside [0, 1] (NaN included).
     */
    @Provide
    Arbitrary<LossDraw> lossDraws() {
        return Combinators.combine(Arbitraries.integers().between(1, 3), Arbitraries.integers().between(1, 3))
                .flatAs((n, c) -> Combinators.combine(
                        Arbitraries.integers().between(0, c - 1).list().ofSize(n),
                        Arbitraries.of(0f, 0.5f, 1f).list().ofSize(c).injectNull(0.4),
                        Arbitraries.of(0.0, 0.3, 1.0),
                        Arbitraries.integers().between(0, 15),
                        Arbitraries.of(-0.5, 1.5, Double.NaN))
                        .as((labels, weights, eps, mutation, badEps) -> mutateLoss(n, c, labels, weights, eps, mutation, badEps)));
    }

    private static LossDraw mutateLoss(int n, int c, List<Integer> labels, List<Float> weights, double eps, int mutation, double badEps) {
        List<Integer> l = new java.util.ArrayList<>(labels);
        List<Float> w = weights == null ? null : new java.util.ArrayList<>(weights);
        switch (mutation) {
            case 0 -> n = 0;
            case 1 -> c = 0;
            case 2 -> l.set(0, c);
            case 3 -> l.set(l.size() - 1, -1);
            case 4 -> l.add(0);
            case 5 -> l.remove(0);
            case 6 -> w = new java.util.ArrayList<>(java.util.Collections.nCopies(c + 1, 1f));
            case 7 -> w = new java.util.ArrayList<>(java.util.Collections.nCopies(c, 0f));
            case 8 -> eps = badEps;
            default -> { }
        }
        return new LossDraw(n, c, l, w, eps);
    }

}
