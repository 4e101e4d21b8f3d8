package dev.graft.engine.gradients;

import dev.graft.engine.Functional;
import dev.graft.engine.testing.GradCheck;
import dev.graft.engine.testing.GradCheck.Input;
import dev.graft.engine.testing.Values;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.Arrays;
import java.util.List;

/**
 * Gradients of log_softmax, nll_loss, cross-entropy (class weights, label smoothing) and binary cross-entropy with
 * logits (masked targets, positive weights) against central
 * differences in F64, with {@link GradCheck}'s torch.gradcheck tolerances (atol 1e-5, rtol 1e-3).
 */
class LossGradientProperties {

    /** Logits up to {@code scale} in magnitude: large ones check the max-shifted log-sum-exp. */
    record SoftmaxCase(int n, int c, double scale, long seed) {
    }

    @Property(tries = 100)
    void logSoftmaxGradients(@ForAll("softmaxCases") SoftmaxCase c) {
        GradCheck.check("log_softmax " + c, t -> Functional.logSoftmax(t.get(0)),
                Input.of(Values.uniform(c.n() * c.c(), c.seed(), -c.scale(), c.scale()), c.n(), c.c()));
    }

    @Provide
    Arbitrary<SoftmaxCase> softmaxCases() {
        return Combinators.combine(Arbitraries.integers().between(1, 3), Arbitraries.integers().between(1, 5),
                Arbitraries.of(1.0, 8.0), NormPoolGradientProperties.seeds()).as(SoftmaxCase::new);
    }

    /**
     * N rows of C classes, labels, optional class weights in [0, 2] (a zero weight is a class to ignore; the
     * labels' weights must sum above 0, as the op requires) and label smoothing, 0 or in [0, 1].
     */
    record LossCase(int n, int c, int[] labels, float[] weights, double smoothing, long seed) {
        @Override
        public String toString() {
            return "LossCase[n=" + n + ", c=" + c + ", labels=" + Arrays.toString(labels) + ", weights="
                    + Arrays.toString(weights) + ", smoothing=" + smoothing + ", seed=" + seed + "]";
        }
    }

    /** nll_loss is linear in its input, so any values serve as log-probabilities. */
    @Property(tries = 150)
    void nllLossGradients(@ForAll("lossCases") LossCase c) {
        GradCheck.check("nll_loss " + c, t -> Functional.nllLoss(t.get(0), c.labels(), c.weights(), c.smoothing()),
                Input.of(Values.uniform(c.n() * c.c(), c.seed(), -3, 0), c.n(), c.c()));
    }

    @Property(tries = 150)
    void crossEntropyGradients(@ForAll("lossCases") LossCase c) {
        GradCheck.check("cross_entropy " + c, t -> Functional.crossEntropy(t.get(0), c.labels(), c.weights(), c.smoothing()),
                Input.of(Values.uniform(c.n() * c.c(), c.seed(), -3, 3), c.n(), c.c()));
    }

    @Provide
    Arbitrary<LossCase> lossCases() {
        Arbitrary<Double> smoothing = Arbitraries.oneOf(Arbitraries.just(0.0), Arbitraries.doubles().between(0, 1).ofScale(2));
        return Combinators.combine(Arbitraries.integers().between(1, 3), Arbitraries.integers().between(1, 4))
                .flatAs((n, c) -> Combinators.combine(
                        Arbitraries.integers().between(0, c - 1).list().ofSize(n),
                        Arbitraries.floats().between(0, 2).ofScale(2).list().ofSize(c).injectNull(0.3),
                        smoothing, NormPoolGradientProperties.seeds())
                        .as((labels, weights, eps, seed) -> new LossCase(n, c, ints(labels), floats(weights), eps, seed)))
                .filter(LossGradientProperties::labelWeightsPositive);
    }

    /**
     * N rows of L labels with multi-hot targets, some unknown (NaN), optional positive weights in [0, 3]; logits up to
     * {@code scale} (8 reaches the flat tails of the sigmoid).
     */
    record BceCase(int n, int l, float[] targets, float[] posWeight, double scale, long seed) {
        @Override
        public String toString() {
            return "BceCase[n=" + n + ", l=" + l + ", targets=" + Arrays.toString(targets) + ", posWeight="
                    + Arrays.toString(posWeight) + ", scale=" + scale + ", seed=" + seed + "]";
        }
    }

    /** {@link dev.graft.engine.functions.BceWithLogitsFunction}'s backward against central differences in F64. */
    @Property(tries = 150)
    void bceWithLogitsGradients(@ForAll("bceCases") BceCase c) {
        GradCheck.check("bce_with_logits " + c, t -> Functional.bceWithLogits(t.get(0), c.targets(), c.posWeight()),
                Input.of(Values.uniform(c.n() * c.l(), c.seed(), -c.scale(), c.scale()), c.n(), c.l()));
    }

    @Provide
    Arbitrary<BceCase> bceCases() {
        Arbitrary<Float> target = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, Arbitraries.just(0f)), net.jqwik.api.Tuple.of(4, Arbitraries.just(1f)),
                net.jqwik.api.Tuple.of(2, Arbitraries.just(Float.NaN)));
        return Combinators.combine(Arbitraries.integers().between(1, 4), Arbitraries.integers().between(1, 5))
                .flatAs((n, l) -> Combinators.combine(
                        target.list().ofSize(n * l),
                        Arbitraries.floats().between(0, 3).ofScale(2).list().ofSize(l).injectNull(0.4),
                        Arbitraries.of(1.0, 8.0), NormPoolGradientProperties.seeds())
                        .as((t, w, scale, seed) -> new BceCase(n, l, floats(t), floats(w), scale, seed)));
    }

    private static boolean labelWeightsPositive(LossCase c) {
        if (c.weights() == null) {
            return true;
        }
        double sum = 0;
        for (int y : c.labels()) {
            sum += c.weights()[y];
        }
        return sum > 0;
    }

    private static int[] ints(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    private static float[] floats(List<Float> l) {
        if (l == null) {
            return null;
        }
        float[] f = new float[l.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = l.get(i);
        }
        return f;
    }
}
