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
import java.util.SplittableRandom;

import static dev.graft.engine.gradients.NormPoolGradientProperties.seeds;

/**
 * Gradients of the transformer ops of issue 11, part 1 (layer norm with its weight and bias, both GELUs, drop path,
 * roll, zero padding) against central differences in F64 on the reference, with {@link GradCheck}'s torch.gradcheck
 * tolerances (atol 1e-5, rtol 1e-3). Roll and pad are linear (the quotient is exact up to rounding); drop path uses
 * one fixed seed, so every probe sees the same per-sample mask.
 */
class NormActivationOpGradientProperties {

    record LayerNormCase(int[] lead, int c, double eps, Wrt wrt, long seed) {
        int[] shape() {
            int[] s = Arrays.copyOf(lead, lead.length + 1);
            s[lead.length] = c;
            return s;
        }

        @Override
        public String toString() {
            return "LayerNormCase[shape=" + Arrays.toString(shape()) + ", eps=" + eps + ", " + wrt + ", seed=" + seed + "]";
        }
    }

    /** Rows of 1 to 6 (C = 1: every xhat is 0), leading axes rank 0 to 2; x, weight and bias in any subset. */
    @Property(tries = 120)
    void layerNormGradients(@ForAll("layerNormCases") LayerNormCase c) {
        int[] xs = c.shape();
        GradCheck.check("layer_norm " + c, t -> Functional.layerNorm(t.get(0), t.get(1), t.get(2), c.eps()),
                c.wrt().input(0, Values.uniform(Values.numel(xs), c.seed()), xs),
                c.wrt().input(1, Values.uniform(c.c(), c.seed() + 1), c.c()),
                c.wrt().input(2, Values.uniform(c.c(), c.seed() + 2), c.c()));
    }

    @Provide
    Arbitrary<LayerNormCase> layerNormCases() {
        // eps well above the probe step's effect on the variance: with values in [-1, 1] and eps 1e-3 the curvature of
        // 1/sqrt(var + eps) keeps the central difference within gradcheck's tolerance.
        return Combinators.combine(Shapes.dims(0, 2, 3), Arbitraries.integers().between(1, 6), Arbitraries.of(1e-3, 1e-1, 1.0),
                Wrt.subsets(3), seeds()).as(LayerNormCase::new);
    }

    record GeluCase(int[] shape, boolean tanh, long seed) {
        @Override
        public String toString() {
            return "GeluCase[shape=" + Arrays.toString(shape) + ", tanh=" + tanh + ", seed=" + seed + "]";
        }
    }

    /** Inputs in [-4, 4]: the whole bend of GELU, both tails. */
    @Property(tries = 80)
    void geluGradients(@ForAll("geluCases") GeluCase c) {
        GradCheck.check("gelu " + c, t -> Functional.gelu(t.get(0), c.tanh() ? "tanh" : "none"),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed(), -4, 4), c.shape()));
    }

    @Provide
    Arbitrary<GeluCase> geluCases() {
        return Combinators.combine(Shapes.dims(1, 4, 3), Arbitraries.of(true, false), seeds()).as(GeluCase::new);
    }

    record RollCase(int[] shape, int[] dims, int[] shifts, long seed) {
        @Override
        public String toString() {
            return "RollCase[shape=" + Arrays.toString(shape) + ", dims=" + Arrays.toString(dims) + ", shifts="
                    + Arrays.toString(shifts) + ", seed=" + seed + "]";
        }
    }

    /** Any non-empty set of distinct axes (some written negative), shifts in [-9, 9]: negative, zero, beyond the axis. */
    @Property(tries = 100)
    void rollGradients(@ForAll("rollCases") RollCase c) {
        GradCheck.check("roll " + c, t -> Functional.roll(t.get(0), c.shifts(), c.dims()),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    @Provide
    Arbitrary<RollCase> rollCases() {
        return Combinators.combine(Shapes.dims(1, 4, 4), Arbitraries.longs(), seeds()).as((shape, pick, seed) -> {
            SplittableRandom r = new SplittableRandom(pick);
            int rank = shape.length;
            int[] perm = r.ints(0, 1 << 20).limit(rank).toArray();
            Integer[] order = new Integer[rank];
            for (int i = 0; i < rank; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Integer.compare(perm[a], perm[b]));
            int k = 1 + r.nextInt(rank);
            int[] dims = new int[k];
            int[] shifts = new int[k];
            for (int i = 0; i < k; i++) {
                dims[i] = r.nextBoolean() ? order[i] : order[i] - rank;
                shifts[i] = r.nextInt(-9, 10);
            }
            return new RollCase(shape, dims, shifts, seed);
        });
    }

    record PadCase(int[] shape, int[] pads, long seed) {
        @Override
        public String toString() {
            return "PadCase[shape=" + Arrays.toString(shape) + ", pads=" + Arrays.toString(pads) + ", seed=" + seed + "]";
        }
    }

    /** (before, after) pairs of 0 to 2 for the last 0 to rank axes. */
    @Property(tries = 100)
    void padGradients(@ForAll("padCases") PadCase c) {
        GradCheck.check("pad " + c, t -> Functional.pad(t.get(0), c.pads()),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    @Provide
    Arbitrary<PadCase> padCases() {
        return Combinators.combine(Shapes.dims(1, 4, 3), Arbitraries.longs(), seeds()).as((shape, pick, seed) -> {
            SplittableRandom r = new SplittableRandom(pick);
            int[] pads = new int[2 * r.nextInt(shape.length + 1)];
            for (int i = 0; i < pads.length; i++) {
                pads[i] = r.nextInt(3);
            }
            return new PadCase(shape, pads, seed);
        });
    }

    record DropPathCase(int[] shape, double p, long seed) {
        @Override
        public String toString() {
            return "DropPathCase[shape=" + Arrays.toString(shape) + ", p=" + p + ", seed=" + seed + "]";
        }
    }

    @Property(tries = 40)
    void dropPathGradients(@ForAll("dropPathCases") DropPathCase c) {
        GradCheck.check("drop_path " + c, t -> Functional.dropPath(t.get(0), c.p(), true, new SplittableRandom(c.seed())),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    @Provide
    Arbitrary<DropPathCase> dropPathCases() {
        return Combinators.combine(Shapes.dims(1, 4, 3), Arbitraries.of(0.0, 0.1, 0.5, 1.0), seeds()).as(DropPathCase::new);
    }
}
