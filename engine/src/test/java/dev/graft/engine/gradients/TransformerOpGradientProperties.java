package dev.graft.engine.gradients;

import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;
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
 * Gradients of the attention-side transformer ops (batched matmul with transposes, linear on tokens, permute, cat /
 * narrow / split on any axis, softmax over the last axis, index_select with repeated indices, scaled dot-product
 * attention with and without an additive bias) against central differences in F64 on the reference, with
 * {@link GradCheck}'s torch.gradcheck tolerances (atol 1e-5, rtol 1e-3). Inputs are uniform in [-1, 1], so softmax's
 * curvature is O(1) and the O(eps^2) = 1e-12 truncation error of the central difference is far below the tolerance.
 */
class TransformerOpGradientProperties {

    record BmmCase(int[] batch, int m, int k, int n, boolean transA, boolean transB, Wrt wrt, long seed) {
        @Override
        public String toString() {
            return "BmmCase[batch=" + Arrays.toString(batch) + ", m=" + m + ", k=" + k + ", n=" + n + ", transA=" + transA
                    + ", transB=" + transB + ", " + wrt + ", seed=" + seed + "]";
        }
    }

    @Property(tries = 80)
    void bmmGradients(@ForAll("bmmCases") BmmCase c) {
        int[] as = withTail(c.batch(), c.transA() ? c.k() : c.m(), c.transA() ? c.m() : c.k());
        int[] bs = withTail(c.batch(), c.transB() ? c.n() : c.k(), c.transB() ? c.k() : c.n());
        GradCheck.check("bmm " + c, t -> Functional.bmm(t.get(0), t.get(1), c.transA(), c.transB()),
                c.wrt().input(0, Values.uniform(Values.numel(as), c.seed()), as),
                c.wrt().input(1, Values.uniform(Values.numel(bs), c.seed() + 1), bs));
    }

    @Provide
    Arbitrary<BmmCase> bmmCases() {
        Arbitrary<Integer> size = Arbitraries.integers().between(1, 4);
        return Combinators.combine(Shapes.dims(1, 2, 3), size, size, size, Arbitraries.of(false, true),
                Arbitraries.of(false, true), Wrt.subsets(2), seeds()).as(BmmCase::new);
    }

    record LinearCase(int n, int t, int in, int out, boolean bias, Wrt wrt, long seed) {
    }

    @Property(tries = 40)
    void linearOnTokensGradients(@ForAll("linearCases") LinearCase c) {
        GradCheck.check("linear " + c, t -> Functional.linear(t.get(0), t.get(1), c.bias() ? t.get(2) : null),
                c.wrt().input(0, Values.uniform(c.n() * c.t() * c.in(), c.seed()), c.n(), c.t(), c.in()),
                c.wrt().input(1, Values.uniform(c.out() * c.in(), c.seed() + 1), c.out(), c.in()),
                c.wrt().input(2, Values.uniform(c.out(), c.seed() + 2), c.out()));
    }

    /** Functional.linearGelu records linear then gelu (the fused kernel runs only without gradients): its gradient. */
    @Property(tries = 30)
    void linearGeluGradients(@ForAll("linearCases") LinearCase c) {
        GradCheck.check("linear gelu " + c, t -> Functional.linearGelu(t.get(0), t.get(1), c.bias() ? t.get(2) : null),
                c.wrt().input(0, Values.uniform(c.n() * c.t() * c.in(), c.seed()), c.n(), c.t(), c.in()),
                c.wrt().input(1, Values.uniform(c.out() * c.in(), c.seed() + 1), c.out(), c.in()),
                c.wrt().input(2, Values.uniform(c.out(), c.seed() + 2), c.out()));
    }

    /** Functional.linearAdd records linear then add (the fused kernel runs only without gradients): its gradient. */
    @Property(tries = 30)
    void linearAddGradients(@ForAll("linearCases") LinearCase c) {
        GradCheck.check("linear add " + c, t -> Functional.linearAdd(t.get(0), t.get(1), c.bias() ? t.get(2) : null, t.get(3)),
                c.wrt().input(0, Values.uniform(c.n() * c.t() * c.in(), c.seed()), c.n(), c.t(), c.in()),
                c.wrt().input(1, Values.uniform(c.out() * c.in(), c.seed() + 1), c.out(), c.in()),
                c.wrt().input(2, Values.uniform(c.out(), c.seed() + 2), c.out()),
                c.wrt().input(0, Values.uniform(c.n() * c.t() * c.out(), c.seed() + 3), c.n(), c.t(), c.out()));
    }

    @Provide
    Arbitrary<LinearCase> linearCases() {
        Arbitrary<Integer> size = Arbitraries.integers().between(1, 4);
        return Combinators.combine(size, size, size, size, Arbitraries.of(false, true), Wrt.subsets(3), seeds())
                .as(LinearCase::new)
                .filter(c -> (c.wrt().mask() & (c.bias() ? 7 : 3)) != 0);
    }

    record ShapeCase(int[] shape, long seed) {
        @Override
        public String toString() {
            return "ShapeCase[shape=" + Arrays.toString(shape) + ", seed=" + seed + "]";
        }

        /** A permutation of the axes drawn from the seed. */
        int[] perm() {
            int[] p = new int[shape.length];
            for (int i = 0; i < p.length; i++) {
                p[i] = i;
            }
            SplittableRandom r = new SplittableRandom(seed);
            for (int i = p.length - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
            return p;
        }

        int axis() {
            return (int) (Math.floorMod(seed, shape.length));
        }
    }

    @Provide
    Arbitrary<ShapeCase> shapes() {
        return Combinators.combine(Shapes.dims(1, 5, 3), seeds()).as(ShapeCase::new);
    }

    @Property(tries = 60)
    void permuteGradients(@ForAll("shapes") ShapeCase c) {
        int[] perm = c.perm();
        GradCheck.check("permute " + Arrays.toString(perm) + " " + c, t -> Functional.permute(t.get(0), perm),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    @Property(tries = 60)
    void catGradients(@ForAll("shapes") ShapeCase c, @ForAll("parts") int[] sizes, @ForAll("subsets3") Wrt drawn) {
        int axis = c.axis();
        Wrt wrt = (drawn.mask() & ((1 << sizes.length) - 1)) == 0 ? new Wrt(1) : drawn; // something needs a gradient
        Input[] inputs = new Input[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            int[] s = c.shape().clone();
            s[axis] = sizes[i];
            inputs[i] = wrt.input(i, Values.uniform(Values.numel(s), c.seed() + i), s);
        }
        GradCheck.check("cat dim " + axis + " sizes " + Arrays.toString(sizes) + " " + wrt + " " + c,
                t -> Functional.cat(axis, t.toArray(Tensor[]::new)), inputs);
    }

    @Provide
    Arbitrary<int[]> parts() {
        return Arbitraries.integers().between(1, 3).array(int[].class).ofMinSize(1).ofMaxSize(3);
    }

    @Provide
    Arbitrary<Wrt> subsets3() {
        return Wrt.subsets(3);
    }

    /** split into 1..3 parts along the axis, every part used (a weighted sum through a cat of the parts, reversed). */
    @Property(tries = 60)
    void splitAndNarrowGradients(@ForAll("shapes") ShapeCase c) {
        int axis = c.axis();
        int len = c.shape()[axis];
        SplittableRandom r = new SplittableRandom(c.seed() + 7);
        int first = r.nextInt(len + 1);
        int[] sizes = {first, len - first};
        int start = r.nextInt(len);
        int length = 1 + r.nextInt(len - start);
        GradCheck.check("split " + Arrays.toString(sizes) + " / narrow(" + start + ", " + length + ") dim " + axis + " " + c, t -> {
            Tensor[] p = Functional.split(t.get(0), axis, sizes);
            Tensor swapped = Functional.cat(axis, p[1], p[0]);
            Tensor n = Functional.narrow(t.get(0), axis, start, length);
            return Functional.add(Functional.sum(Functional.mul(swapped, swapped)), Functional.sum(n));
        }, Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    @Property(tries = 60)
    void softmaxGradients(@ForAll("shapes") ShapeCase c) {
        GradCheck.check("softmax " + c, t -> Functional.softmax(t.get(0)),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed(), -3, 3), c.shape()));
    }

    /** Indices with repeats (and some rows never picked), so the backward must add, and leave zeros. */
    /** {@link dev.graft.engine.functions.IndexSelectFunction}'s backward (scatter-add) against central differences in F64. */
    @Property(tries = 60)
    void indexSelectGradients(@ForAll("shapes") ShapeCase c, @ForAll("indexCounts") int count) {
        int axis = c.axis();
        SplittableRandom r = new SplittableRandom(c.seed() + 3);
        int[] index = new int[count];
        for (int i = 0; i < count; i++) {
            index[i] = r.nextInt(c.shape()[axis]);
        }
        GradCheck.check("index_select dim " + axis + " " + Arrays.toString(index) + " " + c,
                t -> Functional.indexSelect(t.get(0), axis, index),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    @Provide
    Arbitrary<Integer> indexCounts() {
        return Arbitraries.integers().between(1, 6);
    }

    record AttentionCase(int n, int heads, int tq, int tk, int d, int biasRank, Wrt wrt, long seed) {
    }

    /** Attention with q, k, v, and a bias of rank 0 (none), 2 ([Tq, Tk]) or 3 ([heads, Tq, Tk], Swin's). */
    @Property(tries = 50)
    void attentionGradients(@ForAll("attentionCases") AttentionCase c) {
        int[] qs = {c.n(), c.heads(), c.tq(), c.d()};
        int[] ks = {c.n(), c.heads(), c.tk(), c.d()};
        int[] bs = c.biasRank() == 3 ? new int[] {c.heads(), c.tq(), c.tk()} : new int[] {c.tq(), c.tk()};
        GradCheck.check("attention " + c, t -> Functional.scaledDotProductAttention(t.get(0), t.get(1), t.get(2),
                        c.biasRank() == 0 ? null : t.get(3), Double.NaN),
                c.wrt().input(0, Values.uniform(Values.numel(qs), c.seed()), qs),
                c.wrt().input(1, Values.uniform(Values.numel(ks), c.seed() + 1), ks),
                c.wrt().input(2, Values.uniform(Values.numel(ks), c.seed() + 2), ks),
                c.wrt().input(3, Values.uniform(Values.numel(bs), c.seed() + 3), bs));
    }

    record PackedAttentionCase(int n, int heads, int t, int d, long seed) {
    }

    /** Self-attention on a packed [N, T, 3C] q/k/v projection (ViT's), with respect to the packed input. */
    @Property(tries = 30)
    void packedAttentionGradients(@ForAll("packedAttentionCases") PackedAttentionCase c) {
        int[] s = {c.n(), c.t(), 3 * c.heads() * c.d()};
        GradCheck.check("packed attention " + c, t -> Functional.packedSelfAttention(t.get(0), c.heads(), Double.NaN),
                Input.of(Values.uniform(Values.numel(s), c.seed()), s));
    }

    @Provide
    Arbitrary<PackedAttentionCase> packedAttentionCases() {
        Arbitrary<Integer> size = Arbitraries.integers().between(1, 3);
        return Combinators.combine(Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 2), size, size, seeds())
                .as(PackedAttentionCase::new);
    }

    @Provide
    Arbitrary<AttentionCase> attentionCases() {
        Arbitrary<Integer> size = Arbitraries.integers().between(1, 3);
        return Combinators.combine(Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 2), size, size, size,
                        Arbitraries.of(0, 2, 3), Wrt.subsets(4), seeds())
                .as(AttentionCase::new)
                .filter(c -> (c.wrt().mask() & (c.biasRank() == 0 ? 7 : 15)) != 0);
    }

    private static int[] withTail(int[] batch, int r, int c) {
        int[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = r;
        s[batch.length + 1] = c;
        return s;
    }
}
