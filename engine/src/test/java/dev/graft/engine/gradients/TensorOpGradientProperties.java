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

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BinaryOperator;

/**
 * Gradients of add, mul (with broadcasting), scale, sum, sumTo, mean, reshape, flatten, matmul and linear
 * against central differences in F64, with {@link GradCheck}'s torch.gradcheck tolerances (atol 1e-5,
 * rtol 1e-3).
 */
class TensorOpGradientProperties {

    // ---- broadcasting add and mul -----------------------------------------------------------------------

    /**
     * {@code big} and {@code small}, where small broadcasts to big: some sizes set to 1 and {@code dropped}
     * leading dimensions removed (lower rank). {@code smallFirst} passes small as the left operand.
     */
    record BroadcastCase(int[] big, int[] small, boolean smallFirst, Wrt wrt, long seed) {
        @Override
        public String toString() {
            return "BroadcastCase[big=" + Arrays.toString(big) + ", small=" + Arrays.toString(small)
                    + ", smallFirst=" + smallFirst + ", " + wrt + ", seed=" + seed + "]";
        }
    }

    @Property(tries = 150)
    void addGradients(@ForAll("broadcastCases") BroadcastCase c) {
        checkBinary("add", Functional::add, c);
    }

    @Property(tries = 150)
    void mulGradients(@ForAll("broadcastCases") BroadcastCase c) {
        checkBinary("mul", Functional::mul, c);
    }

    private static void checkBinary(String op, BinaryOperator<Tensor> f, BroadcastCase c) {
        Input big = c.wrt().input(0, Values.uniform(Values.numel(c.big()), c.seed()), c.big());
        Input small = c.wrt().input(1, Values.uniform(Values.numel(c.small()), c.seed() + 1), c.small());
        GradCheck.check(op + " " + c, t -> c.smallFirst() ? f.apply(t.get(1), t.get(0)) : f.apply(t.get(0), t.get(1)),
                big, small);
    }

    @Provide
    Arbitrary<BroadcastCase> broadcastCases() {
        Arbitrary<int[][]> general = Shapes.dims(1, 4, 3).flatMap(big -> Combinators.combine(
                Arbitraries.of(false, true).list().ofSize(big.length),
                Arbitraries.integers().between(0, big.length - 1))
                .as((ones, dropped) -> new int[][] {big, broadcastable(big, ones, dropped)}));
        // The batch-norm-free residual-network case: [N,C,H,W] with a per-channel [C,1,1] or [1,C,1,1].
        Arbitrary<int[][]> channel = Combinators.combine(
                Arbitraries.integers().between(1, 2), Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(1, 3), Arbitraries.integers().between(1, 3), Arbitraries.of(false, true))
                .as((n, ch, h, w, rank4) -> new int[][] {{n, ch, h, w}, rank4 ? new int[] {1, ch, 1, 1} : new int[] {ch, 1, 1}});
        return Combinators.combine(Arbitraries.oneOf(general, channel), Arbitraries.of(false, true), Wrt.subsets(2), seeds())
                .as((s, smallFirst, wrt, seed) -> new BroadcastCase(s[0], s[1], smallFirst, wrt, seed));
    }

    /** {@code big} with the sizes where {@code ones} is true set to 1 and the first {@code dropped} removed. */
    private static int[] broadcastable(int[] big, List<Boolean> ones, int dropped) {
        int[] s = new int[big.length - dropped];
        for (int i = dropped; i < big.length; i++) {
            s[i - dropped] = ones.get(i) ? 1 : big[i];
        }
        return s;
    }

    // ---- scale, reductions ------------------------------------------------------------------------------

    record ShapeCase(int[] shape, long seed) {
        @Override
        public String toString() {
            return "ShapeCase[shape=" + Arrays.toString(shape) + ", seed=" + seed + "]";
        }
    }

    @Provide
    Arbitrary<ShapeCase> shapeCases() {
        return Combinators.combine(Shapes.dims(0, 4, 3), seeds()).as(ShapeCase::new);
    }

    @Property(tries = 50)
    void scaleGradients(@ForAll("shapeCases") ShapeCase c, @ForAll("alphas") double alpha) {
        GradCheck.check("scale(" + alpha + ") " + c, t -> Functional.scale(t.get(0), alpha),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    @Provide
    Arbitrary<Double> alphas() {
        return Arbitraries.doubles().between(-3, 3).ofScale(3);
    }

    @Property(tries = 50)
    void sumGradients(@ForAll("shapeCases") ShapeCase c) {
        GradCheck.check("sum " + c, t -> Functional.sum(t.get(0)),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    @Property(tries = 50)
    void meanGradients(@ForAll("shapeCases") ShapeCase c) {
        GradCheck.check("mean " + c, t -> Functional.mean(t.get(0)),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    /** sumTo(x, target) for every target that broadcasts to x: the gradient broadcasts back. */
    @Property(tries = 100)
    void sumToGradients(@ForAll("broadcastCases") BroadcastCase c) {
        GradCheck.check("sumTo " + c, t -> Functional.sumTo(t.get(0), c.small()),
                Input.of(Values.uniform(Values.numel(c.big()), c.seed()), c.big()));
    }

    // ---- reshape and flatten ----------------------------------------------------------------------------

    /** {@code to} regroups the sizes of {@code from} (shuffled, adjacent ones merged, 1s inserted, maybe a -1). */
    record ReshapeCase(int[] from, int[] to, long seed) {
        @Override
        public String toString() {
            return "ReshapeCase[from=" + Arrays.toString(from) + ", to=" + Arrays.toString(to) + ", seed=" + seed + "]";
        }
    }

    @Property(tries = 100)
    void reshapeGradients(@ForAll("reshapeCases") ReshapeCase c) {
        GradCheck.check("reshape " + c, t -> Functional.reshape(t.get(0), c.to()),
                Input.of(Values.uniform(Values.numel(c.from()), c.seed()), c.from()));
    }

    @Provide
    Arbitrary<ReshapeCase> reshapeCases() {
        return Combinators.combine(Shapes.dims(0, 4, 4), seeds()).as((from, seed) -> new ReshapeCase(from, regroup(from, seed), seed));
    }

    private static int[] regroup(int[] from, long seed) {
        Random r = new Random(seed);
        List<Integer> sizes = new ArrayList<>();
        for (int d : from) {
            sizes.add(d);
        }
        java.util.Collections.shuffle(sizes, r);
        for (int merges = r.nextInt(3); merges > 0 && sizes.size() > 1; merges--) {
            int i = r.nextInt(sizes.size() - 1);
            sizes.set(i, sizes.get(i) * sizes.remove(i + 1));
        }
        if (r.nextBoolean()) {
            sizes.add(r.nextInt(sizes.size() + 1), 1);
        }
        int[] to = sizes.stream().mapToInt(Integer::intValue).toArray();
        if (to.length > 0 && r.nextBoolean()) {
            to[r.nextInt(to.length)] = -1;
        }
        return to;
    }

    record FlattenCase(int[] shape, int startDim, long seed) {
        @Override
        public String toString() {
            return "FlattenCase[shape=" + Arrays.toString(shape) + ", startDim=" + startDim + ", seed=" + seed + "]";
        }
    }

    /** flatten(x, startDim) with startDim counted from either end, as torch.flatten. */
    @Property(tries = 50)
    void flattenGradients(@ForAll("flattenCases") FlattenCase c) {
        GradCheck.check("flatten " + c, t -> Functional.flatten(t.get(0), c.startDim()),
                Input.of(Values.uniform(Values.numel(c.shape()), c.seed()), c.shape()));
    }

    @Provide
    Arbitrary<FlattenCase> flattenCases() {
        return Shapes.dims(1, 4, 3).flatMap(s -> Combinators.combine(
                Arbitraries.integers().between(-s.length, s.length - 1), seeds())
                .as((start, seed) -> new FlattenCase(s, start, seed)));
    }

    // ---- matmul and linear ------------------------------------------------------------------------------

    record MatMulCase(int m, int k, int n, boolean transA, boolean transB, Wrt wrt, long seed) {
    }

    /** op(a) [m,k] @ op(b) [k,n] for all four transpose combinations. */
    @Property(tries = 100)
    void matmulGradients(@ForAll("matmulCases") MatMulCase c) {
        int[] a = c.transA() ? new int[] {c.k(), c.m()} : new int[] {c.m(), c.k()};
        int[] b = c.transB() ? new int[] {c.n(), c.k()} : new int[] {c.k(), c.n()};
        GradCheck.check("matmul " + c, t -> Functional.matmul(t.get(0), t.get(1), c.transA(), c.transB()),
                c.wrt().input(0, Values.uniform(Values.numel(a), c.seed()), a),
                c.wrt().input(1, Values.uniform(Values.numel(b), c.seed() + 1), b));
    }

    @Provide
    Arbitrary<MatMulCase> matmulCases() {
        Arbitrary<Integer> size = Arbitraries.integers().between(1, 4);
        return Combinators.combine(size, size, size, Arbitraries.of(false, true), Arbitraries.of(false, true),
                Wrt.subsets(2), seeds()).as(MatMulCase::new);
    }

    record LinearCase(int batch, int in, int out, boolean bias, Wrt wrt, long seed) {
    }

    @Property(tries = 100)
    void linearGradients(@ForAll("linearCases") LinearCase c) {
        List<Input> inputs = new ArrayList<>(List.of(
                c.wrt().input(0, Values.uniform(c.batch() * c.in(), c.seed()), c.batch(), c.in()),
                c.wrt().input(1, Values.uniform(c.out() * c.in(), c.seed() + 1), c.out(), c.in())));
        if (c.bias()) {
            inputs.add(c.wrt().input(2, Values.uniform(c.out(), c.seed() + 2), c.out()));
        }
        GradCheck.check("linear " + c, t -> Functional.linear(t.get(0), t.get(1), c.bias() ? t.get(2) : null),
                inputs.toArray(Input[]::new));
    }

    @Provide
    Arbitrary<LinearCase> linearCases() {
        Arbitrary<Integer> size = Arbitraries.integers().between(1, 4);
        return Combinators.combine(Arbitraries.integers().between(1, 3), size, size, Arbitraries.of(true, false),
                Wrt.subsets(3), seeds()).as(LinearCase::new)
                .filter(c -> c.bias() || c.wrt().has(0) || c.wrt().has(1));
    }

    static Arbitrary<Long> seeds() {
        return NormPoolGradientProperties.seeds();
    }
}
