package dev.graft.engine.gradients;

import dev.graft.engine.Functional;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.testing.GradCheck;
import dev.graft.engine.testing.GradCheck.Input;
import dev.graft.engine.testing.Values;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.ArrayList;
import java.util.List;

/**
 * conv2d gradients (input, weight, bias) against central differences in F64 ({@link GradCheck}'s
 * torch.gradcheck tolerances, atol 1e-5, rtol 1e-3). Shapes are derived from the drawn hyper-parameters so
 * every draw is valid and a failure shrinks to kernel 1, stride 1, padding 0, one channel, a 1x1 input.
 */
class ConvGradientProperties {

    /** One spatial axis; the input is the smallest that fits the dilated kernel, plus {@code extra}. */
    record Axis(int kernel, int stride, int pad, int dilation, int extra) {
        int input() {
            return Math.max(1, dilation * (kernel - 1) + 1 - 2 * pad) + extra;
        }
    }

    /** C = groups * cPerGroup input channels, K = groups * kPerGroup output channels. */
    record Channels(int groups, int cPerGroup, int kPerGroup) {
    }

    record ConvCase(int batch, Channels ch, Axis h, Axis w, boolean bias, Wrt wrt, long seed) {
    }

    @Property(tries = 200)
    void conv2dGradients(@ForAll("convCases") ConvCase c) {
        check(c);
    }

    /** groups == C, one input channel per group, channel multiplier 1 or 2 (MobileNet-style). */
    @Property(tries = 100)
    void depthwiseConv2dGradients(@ForAll("depthwiseCases") ConvCase c) {
        check(c);
    }

    @Provide
    Arbitrary<ConvCase> convCases() {
        Arbitrary<Channels> channels = Combinators.combine(
                Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(1, 2),
                Arbitraries.integers().between(1, 2)).as(Channels::new);
        return cases(channels);
    }

    @Provide
    Arbitrary<ConvCase> depthwiseCases() {
        Arbitrary<Channels> channels = Combinators.combine(
                Arbitraries.integers().between(2, 4),
                Arbitraries.integers().between(1, 2)).as((g, mult) -> new Channels(g, 1, mult));
        return cases(channels);
    }

    private static Arbitrary<ConvCase> cases(Arbitrary<Channels> channels) {
        // stride up to 3 with kernel down to 1: stride > kernel skips input cells, whose gradient must be 0.
        Arbitrary<Axis> axis = Combinators.combine(
                Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(1, 2),
                Arbitraries.integers().between(0, 2)).as(Axis::new);
        return Combinators.combine(
                Arbitraries.integers().between(1, 2),
                channels, axis, axis,
                Arbitraries.of(true, false),
                Wrt.subsets(3),
                Arbitraries.longs().between(0, 1_000_000))
                .as(ConvCase::new)
                .filter(c -> c.bias() || c.wrt().has(0) || c.wrt().has(1));
    }

    private static void check(ConvCase c) {
        Channels ch = c.ch();
        int in = ch.groups() * ch.cPerGroup();
        int out = ch.groups() * ch.kPerGroup();
        int[] xShape = {c.batch(), in, c.h().input(), c.w().input()};
        int[] wShape = {out, ch.cPerGroup(), c.h().kernel(), c.w().kernel()};
        Conv2dSpec spec = new Conv2dSpec(c.h().stride(), c.w().stride(), c.h().pad(), c.w().pad(),
                c.h().dilation(), c.w().dilation(), ch.groups());
        List<Input> inputs = new ArrayList<>();
        inputs.add(c.wrt().input(0, Values.uniform(Values.numel(xShape), c.seed()), xShape));
        inputs.add(c.wrt().input(1, Values.uniform(Values.numel(wShape), c.seed() + 1), wShape));
        if (c.bias()) {
            inputs.add(c.wrt().input(2, Values.uniform(out, c.seed() + 2), out));
        }
        GradCheck.check("conv2d " + c, t -> Functional.conv2d(t.get(0), t.get(1), c.bias() ? t.get(2) : null, spec),
                inputs.toArray(Input[]::new));
    }
}
