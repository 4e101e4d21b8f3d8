package dev.graft.engine.gradients;

import dev.graft.engine.Functional;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.testing.GradCheck;
import dev.graft.engine.testing.GradCheck.Input;
import dev.graft.engine.testing.Values;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Gradients of batch norm (training and eval), relu, max pooling and global average pooling against central
 * differences in F64, with {@link GradCheck}'s torch.gradcheck tolerances (atol 1e-5, rtol 1e-3).
 */
class NormPoolGradientProperties {
    private static final double BN_EPS = 1e-5;
    private static final double MOMENTUM = 0.1;

    record Nchw(int n, int c, int h, int w) {
        int[] dims() {
            return new int[] {n, c, h, w};
        }

        int numel() {
            return n * c * h * w;
        }
    }

    record BatchNormCase(Nchw x, boolean runningStats, Wrt wrt, long seed) {
    }

    private static Arbitrary<Nchw> nchw(int maxBatch, int maxChannels, int maxSide) {
        return Combinators.combine(
                Arbitraries.integers().between(1, maxBatch),
                Arbitraries.integers().between(1, maxChannels),
                Arbitraries.integers().between(1, maxSide),
                Arbitraries.integers().between(1, maxSide)).as(Nchw::new);
    }

    // ---- batch norm -------------------------------------------------------------------------------------

    /**
     * Training mode: the batch statistics depend on x. Batch 1 is allowed (it is spatial positions that give
     * a channel its values), but a channel needs more than one value. With running statistics passed the
     * in-place update runs too and must not disturb the gradient.
     */
    @Property(tries = 150)
    void batchNormTrainingGradients(@ForAll("trainingCases") BatchNormCase c) {
        int ch = c.x().c();
        GradCheck.check("batch_norm(training) " + c, t -> Functional.batchNorm2d(t.get(0), t.get(1), t.get(2),
                        c.runningStats() ? t.get(3) : null, c.runningStats() ? t.get(4) : null, true, MOMENTUM, BN_EPS),
                c.wrt().input(0, Values.uniform(c.x().numel(), c.seed()), c.x().dims()),
                c.wrt().input(1, Values.uniform(ch, c.seed() + 1, 0.5, 1.5), ch),
                c.wrt().input(2, Values.uniform(ch, c.seed() + 2), ch),
                Input.constant(Values.uniform(ch, c.seed() + 3), ch),
                Input.constant(Values.uniform(ch, c.seed() + 4, 0.5, 2), ch));
    }

    /** Eval mode: running statistics are constants; gradients flow to x, weight and bias. */
    @Property(tries = 150)
    void batchNormEvalGradients(@ForAll("evalCases") BatchNormCase c) {
        int ch = c.x().c();
        GradCheck.check("batch_norm(eval) " + c, t -> Functional.batchNorm2d(t.get(0), t.get(1), t.get(2),
                        t.get(3), t.get(4), false, MOMENTUM, BN_EPS),
                c.wrt().input(0, Values.uniform(c.x().numel(), c.seed()), c.x().dims()),
                c.wrt().input(1, Values.uniform(ch, c.seed() + 1, -1.5, 1.5), ch),
                c.wrt().input(2, Values.uniform(ch, c.seed() + 2), ch),
                Input.constant(Values.uniform(ch, c.seed() + 3), ch),
                Input.constant(Values.uniform(ch, c.seed() + 4, 0.2, 2), ch));
    }

    @Provide
    Arbitrary<BatchNormCase> trainingCases() {
        return Combinators.combine(nchw(3, 3, 4), Arbitraries.of(false, true), Wrt.subsets(3), seeds())
                .as(BatchNormCase::new)
                .filter(c -> c.x().n() * c.x().h() * c.x().w() > 1);
    }

    @Provide
    Arbitrary<BatchNormCase> evalCases() {
        return Combinators.combine(nchw(3, 3, 4), Arbitraries.just(true), Wrt.subsets(3), seeds())
                .as(BatchNormCase::new);
    }

    // ---- relu -------------------------------------------------------------------------------------------

    record ReluCase(int[] shape, long seed) {
        @Override
        public String toString() {
            return "ReluCase[shape=" + java.util.Arrays.toString(shape) + ", seed=" + seed + "]";
        }
    }

    /** Values keep |x| >= 1e-2, far from the kink at 0 where finite differences see half a slope. */
    @Property(tries = 50)
    void reluGradients(@ForAll("reluCases") ReluCase c) {
        GradCheck.check("relu " + c, t -> Functional.relu(t.get(0)),
                Input.of(Values.awayFromZero(Values.numel(c.shape()), c.seed(), 1e-2), c.shape()));
    }

    @Provide
    Arbitrary<ReluCase> reluCases() {
        return Combinators.combine(Shapes.dims(0, 4, 3), seeds()).as(ReluCase::new);
    }

    // ---- max pooling ------------------------------------------------------------------------------------

    /** One axis of a pooling window; padding is clamped to half the kernel (PyTorch's rule). */
    record PoolAxis(int kernel, int stride, int padWanted, int extra) {
        int pad() {
            return Math.min(padWanted, kernel / 2);
        }

        int input() {
            return Math.max(1, kernel - 2 * pad()) + extra;
        }
    }

    record PoolCase(int n, int c, PoolAxis h, PoolAxis w, long seed) {
    }

    /**
     * Ties and near-ties make max pooling non-differentiable, so inputs are {@link Values#distinct}: a
     * shuffled grid 2/numel apart, far wider than the 1e-6 probe, so no probe moves a window's maximum.
     * Padded cells count as minus infinity and every window holds at least one real cell.
     */
    @Property(tries = 200)
    void maxPool2dGradients(@ForAll("poolCases") PoolCase c) {
        int[] shape = {c.n(), c.c(), c.h().input(), c.w().input()};
        Pool2dSpec spec = new Pool2dSpec(c.h().kernel(), c.w().kernel(), c.h().stride(), c.w().stride(),
                c.h().pad(), c.w().pad());
        GradCheck.check("max_pool2d " + c, t -> Functional.maxPool2d(t.get(0), spec),
                Input.of(Values.distinct(Values.numel(shape), c.seed()), shape));
    }

    @Provide
    Arbitrary<PoolCase> poolCases() {
        // stride up to 4 with kernel up to 3: stride > kernel leaves cells outside every window.
        Arbitrary<PoolAxis> axis = Combinators.combine(
                Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(1, 4),
                Arbitraries.integers().between(0, 1),
                Arbitraries.integers().between(0, 3)).as(PoolAxis::new);
        return Combinators.combine(
                Arbitraries.integers().between(1, 2),
                Arbitraries.integers().between(1, 2),
                axis, axis, seeds()).as(PoolCase::new);
    }

    // ---- adaptive average pooling to 1x1 ----------------------------------------------------------------

    record AvgPoolCase(Nchw x, long seed) {
    }

    @Property(tries = 50)
    void adaptiveAvgPool2dGradients(@ForAll("avgPoolCases") AvgPoolCase c) {
        GradCheck.check("adaptive_avg_pool2d " + c, t -> Functional.adaptiveAvgPool2d(t.get(0), 1),
                Input.of(Values.uniform(c.x().numel(), c.seed()), c.x().dims()));
    }

    @Provide
    Arbitrary<AvgPoolCase> avgPoolCases() {
        return Combinators.combine(nchw(2, 3, 5), seeds()).as(AvgPoolCase::new);
    }

    static Arbitrary<Long> seeds() {
        return Arbitraries.longs().between(0, 1_000_000);
    }

}
