package dev.graft.engine.gradients;

import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.AvgPool2dSpec;
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

import java.util.Arrays;
import java.util.SplittableRandom;

import static dev.graft.engine.gradients.NormPoolGradientProperties.seeds;

/**
 * Gradients of the ops InceptionV3 adds (average pooling with padding in both count_include_pad modes, channel
 * concatenation, asymmetric convolutions 1xk / kx1 with their one-axis padding, dropout) against central differences
 * in F64 on the reference, with {@link GradCheck}'s torch.gradcheck tolerances (atol 1e-5, rtol 1e-3). All but
 * dropout are linear in x, so the difference quotient is exact up to rounding; dropout is checked with one fixed
 * seed, so every probe sees the same mask and it is linear too.
 */
class InceptionOpGradientProperties {

    /** One axis of a window; padding clamped to half the kernel (PyTorch's rule), the input at least the window. */
    record Axis(int kernel, int stride, int padWanted, int extra) {
        int pad() {
            return Math.min(padWanted, kernel / 2);
        }

        int input() {
            return Math.max(1, kernel - 2 * pad()) + extra;
        }
    }

    record AvgCase(int n, int c, Axis h, Axis w, boolean countIncludePad, long seed) {
        AvgPool2dSpec spec() {
            return new AvgPool2dSpec(h.kernel(), w.kernel(), h.stride(), w.stride(), h.pad(), w.pad(), countIncludePad);
        }
    }

    @Property(tries = 150)
    void avgPool2dGradients(@ForAll("avgCases") AvgCase c) {
        int[] shape = {c.n(), c.c(), c.h().input(), c.w().input()};
        GradCheck.check("avg_pool2d " + c, t -> Functional.avgPool2d(t.get(0), c.spec()),
                Input.of(Values.uniform(Values.numel(shape), c.seed()), shape));
    }

    @Provide
    Arbitrary<AvgCase> avgCases() {
        // Kernel up to 4 (even ones too), stride up to 3, padding up to 2 (clamped), so windows overlap, skip cells
        // and hang over every edge; both divisor rules.
        Arbitrary<Axis> axis = Combinators.combine(
                Arbitraries.integers().between(1, 4),
                Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 3)).as(Axis::new);
        return Combinators.combine(Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 2), axis, axis,
                Arbitraries.of(true, false), seeds()).as(AvgCase::new);
    }

    record ConcatCase(int n, int[] channels, int h, int w, Wrt wrt, long seed) {
        @Override
        public String toString() {
            return "ConcatCase[n=" + n + ", channels=" + Arrays.toString(channels) + ", h=" + h + ", w=" + w + ", " + wrt
                    + ", seed=" + seed + "]";
        }
    }

    /** 1 to 4 inputs of 1 to 3 channels; any non-empty subset of them needs a gradient. */
    /** {@link dev.graft.engine.functions.ConcatChannelsFunction}'s backward (the split) against central differences in F64. */
    @Property(tries = 100)
    void concatChannelsGradients(@ForAll("concatCases") ConcatCase c) {
        Input[] inputs = new Input[c.channels().length];
        for (int i = 0; i < inputs.length; i++) {
            int[] shape = {c.n(), c.channels()[i], c.h(), c.w()};
            inputs[i] = c.wrt().input(i, Values.uniform(Values.numel(shape), c.seed() + i), shape);
        }
        GradCheck.check("cat(dim=1) " + c, t -> Functional.concatChannels(t.toArray(Tensor[]::new)), inputs);
    }

    @Provide
    Arbitrary<ConcatCase> concatCases() {
        Arbitrary<int[]> channels = Arbitraries.integers().between(1, 3).array(int[].class).ofMinSize(1).ofMaxSize(4);
        return Combinators.combine(Arbitraries.integers().between(1, 2), channels, Arbitraries.integers().between(1, 3),
                        Arbitraries.integers().between(1, 3), Wrt.subsets(4), seeds())
                .as(ConcatCase::new)
                .filter(c -> (c.wrt().mask() & ((1 << c.channels().length) - 1)) != 0);
    }

    /** Inception's factorised kernels: 1xk with padding (0, k/2) and kx1 with (k/2, 0), k in {3, 5, 7}, stride 1 or 2. */
    record AsymmetricConvCase(int n, int c, int k, int size, boolean wide, int stride, boolean bias, Wrt wrt, long seed) {
    }

    @Property(tries = 100)
    void asymmetricConv2dGradients(@ForAll("asymmetricCases") AsymmetricConvCase c) {
        int kh = c.wide() ? 1 : c.size();
        int kw = c.wide() ? c.size() : 1;
        Conv2dSpec spec = new Conv2dSpec(c.stride(), c.stride(), kh / 2, kw / 2, 1, 1, 1);
        int h = c.wide() ? 3 : c.size() - 2; // the padded axis may be shorter than the kernel
        int w = c.wide() ? c.size() - 2 : 3;
        int[] xs = {c.n(), c.c(), h, w};
        int[] ws = {c.k(), c.c(), kh, kw};
        GradCheck.check("conv2d " + kh + "x" + kw + " " + c,
                t -> Functional.conv2d(t.get(0), t.get(1), c.bias() ? t.get(2) : null, spec),
                c.wrt().input(0, Values.uniform(Values.numel(xs), c.seed()), xs),
                c.wrt().input(1, Values.uniform(Values.numel(ws), c.seed() + 1), ws),
                c.wrt().input(2, Values.uniform(c.k(), c.seed() + 2), c.k()));
    }

    @Provide
    Arbitrary<AsymmetricConvCase> asymmetricCases() {
        return Combinators.combine(Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 3),
                        Arbitraries.integers().between(1, 3), Arbitraries.of(3, 5, 7), Arbitraries.of(true, false),
                        Arbitraries.of(1, 2), Arbitraries.of(true, false), Wrt.subsets(3))
                .flatAs((n, c, k, size, wide, stride, bias, wrt) -> seeds().map(s -> new AsymmetricConvCase(n, c, k, size, wide,
                        stride, bias, wrt, s)))
                .filter(c -> (c.wrt().mask() & (c.bias() ? 7 : 3)) != 0); // something must need a gradient
    }

    record DropoutCase(int[] shape, double p, long seed) {
        @Override
        public String toString() {
            return "DropoutCase[shape=" + Arrays.toString(shape) + ", p=" + p + ", seed=" + seed + "]";
        }
    }

    /** The mask is drawn from a generator seeded the same for every probe, so the op is x * (fixed mask). */
    @Property(tries = 50)
    void dropoutGradients(@ForAll("dropoutCases") DropoutCase c) {
        GradCheck.check("dropout " + c, t -> Functional.dropout(t.get(0), c.p(), true, new SplittableRandom(c.seed())),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    @Provide
    Arbitrary<DropoutCase> dropoutCases() {
        return Combinators.combine(Shapes.dims(1, 4, 3), Arbitraries.of(0.0, 0.2, 0.5, 0.9, 1.0), seeds()).as(DropoutCase::new);
    }

}
