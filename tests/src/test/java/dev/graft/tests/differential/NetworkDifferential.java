package dev.graft.tests.differential;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.StateDict;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs one {@link NetworkDraw} on the backend under test in F32 and on the reference backend in F32 and F64, the two
 * reference runs replaying the piece the tested run landed on ({@link ActivationPattern}), and compares every logit,
 * the loss and every trainable parameter's gradient with F64.
 *
 * <p>Error of a tensor: max |x - x64| / max(1, max |x64|); of a category (the logits, the loss, all gradients): the
 * largest over its tensors. The yardstick is reference F32's error of the same category: it shows how far float32
 * rounding moves this draw (well conditioned: ~1e-7; deep stacks of train-mode batch norms over a handful of values
 * per channel amplify it to 1e-4). A category fails when the tested backend's error exceeds
 * {@code max(RATIO x reference F32's, FLOOR)}.
 */
final class NetworkDifferential {
    /**
     * How much worse than reference F32 a backend may be: 10 for the margin a bug must clear, times 10 for the
     * accuracy gap between the two kinds of float32 arithmetic. The reference accumulates every sum in double and
     * rounds each result once; oneDNN accumulates in float (blocked, FMA), whose error bound grows with the reduction
     * length, and computes batch norm as x * scale + shift; kernel for kernel that is 10-50x the reference's error at
     * these sizes, and the network amplifies both alike. Measured over 250 fuzz draws (cpu error / reference F32
     * error per category): median 4.4, 95th percentile 11-12, largest 30 (gradients) and 88 (logits of a 24-block net
     * at batch 1 whose last stage normalises 4 values per channel); on six of those draws PyTorch 1.13's own float32
     * error was 1.4-17x reference F32's, and Graft's cpu 1.1-5x PyTorch's. A factor of 10 alone failed 5% of draws
     * that hold no bug.
     */
    static final double RATIO = 100;
    /** Below this any error passes: float32 sums over thousands of terms reach it in well-conditioned draws. */
    static final double FLOOR = 1e-5;

    /** One compared tensor: its error on the tested backend and on reference F32. */
    record Deviation(String name, double tested, double referenceF32) {
        @Override
        public String toString() {
            return String.format("%s %.2e (reference F32 %.2e)", name, tested, referenceF32);
        }
    }

    /** The largest error of a category (logits, loss, gradients) on each side, and the tensors where they occur. */
    record Category(String name, Deviation worstTested, Deviation worstReference) {
        double allowed() {
            return Math.max(RATIO * worstReference.referenceF32(), FLOOR);
        }

        boolean fails() {
            return !(worstTested.tested() <= allowed());
        }

        @Override
        public String toString() {
            return String.format("%s: %.2e at %s, reference F32 %.2e at %s, allowed %.2e", name, worstTested.tested(),
                    worstTested.name(), worstReference.referenceF32(), worstReference.name(), allowed());
        }
    }

    /** The comparison of one draw. */
    record Outcome(NetworkDraw c, List<Deviation> deviations, List<String> flips, int kinkOps) {
        List<Category> categories() {
            List<Category> out = new ArrayList<>();
            for (String cat : new String[] {"logits", "loss", "grad"}) {
                List<Deviation> in = deviations.stream().filter(d -> d.name().startsWith(cat)).toList();
                if (!in.isEmpty()) {
                    Deviation t = in.stream().max(java.util.Comparator.comparingDouble(Deviation::tested)).get();
                    Deviation r = in.stream().max(java.util.Comparator.comparingDouble(Deviation::referenceF32)).get();
                    out.add(new Category(cat.equals("grad") ? "gradients" : cat, t, r));
                }
            }
            return out;
        }

        List<Category> failures() {
            return categories().stream().filter(Category::fails).toList();
        }

        /** The tested error over what is allowed, largest over the categories (above 1 fails). */
        double margin() {
            return categories().stream().mapToDouble(k -> k.worstTested().tested() / k.allowed()).max().orElse(0);
        }

        String report() {
            StringBuilder b = new StringBuilder(c.toString()).append('\n');
            b.append("  ").append(kinkOps).append(" relu/pooling ops; ").append(flips.size())
                    .append(" elements on another piece than F64's own (within rounding; the reference runs replay the tested run's piece)\n");
            flips.stream().limit(5).forEach(f -> b.append("    ").append(f).append('\n'));
            categories().forEach(k -> b.append(k.fails() ? "  FAILS " : "  ").append(k).append('\n'));
            return b.toString();
        }
    }

    private NetworkDifferential() {
    }

    static Outcome run(NetworkDraw c, Device tested) {
        StateDict weights = c.weights();
        NetworkDraw.Result result;
        ActivationPattern pattern;
        try (ActivationPattern.Recorder r = ActivationPattern.record(tested)) {
            result = c.run(tested, DType.F32, weights);
            pattern = r.pattern();
        }
        NetworkDraw.Result f32 = replay(c, pattern, DType.F32, weights);
        NetworkDraw.Result f64 = replay(c, pattern, DType.F64, weights);
        List<Deviation> deviations = new ArrayList<>();
        for (Map.Entry<String, double[]> e : f64.tensors().entrySet()) {
            double[] exact = e.getValue();
            double[] t = result.tensors().get(e.getKey());
            if (t == null) {
                throw new AssertionError(e.getKey() + " is missing from the run on " + tested);
            }
            deviations.add(new Deviation(e.getKey(), error(t, exact), error(f32.tensors().get(e.getKey()), exact)));
        }
        if (deviations.size() != result.tensors().size()) {
            throw new AssertionError("the run on " + tested + " produced " + result.tensors().keySet() + ", F64 " + f64.tensors().keySet());
        }
        return new Outcome(c, deviations, pattern.flips(), pattern.events());
    }

    private static NetworkDraw.Result replay(NetworkDraw c, ActivationPattern pattern, DType dtype, StateDict weights) {
        try (ActivationPattern.Replayer p = pattern.replay()) {
            NetworkDraw.Result r = c.run(Device.REFERENCE, dtype, weights);
            p.checkComplete();
            return r;
        }
    }

    /** max |x - e| / max(1, max |e|); any NaN or infinity in x is an infinite error. */
    static double error(double[] x, double[] e) {
        double d = 0;
        double m = 1;
        for (int i = 0; i < e.length; i++) {
            if (!Double.isFinite(x[i])) {
                return Double.POSITIVE_INFINITY;
            }
            d = Math.max(d, Math.abs(x[i] - e[i]));
            m = Math.max(m, Math.abs(e[i]));
        }
        return d / m;
    }
}
