package dev.graft.engine.gradients;

import dev.graft.engine.testing.GradCheck.Input;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;

/**
 * Which inputs of an op a gradient check differentiates: a bit mask, bit i for input i. Checking subsets
 * exercises the paths where a primitive saves only what the inputs that need a gradient ask for.
 */
record Wrt(int mask) {
    /** Non-empty subsets of {@code inputs} inputs; shrinks towards "input 0 only". */
    static Arbitrary<Wrt> subsets(int inputs) {
        return Arbitraries.integers().between(1, (1 << inputs) - 1).map(Wrt::new);
    }

    boolean has(int input) {
        return (mask & (1 << input)) != 0;
    }

    /** Input {@code i} as a differentiable or a constant input. */
    Input input(int i, double[] values, int... shape) {
        return has(i) ? Input.of(values, shape) : Input.constant(values, shape);
    }

    @Override
    public String toString() {
        return "wrt" + Integer.toBinaryString(mask);
    }
}
