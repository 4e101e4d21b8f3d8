package dev.graft.engine.testing;

import java.util.Random;

/**
 * Non-finite values for the propagation properties: test inputs with NaN, +inf and -inf at random positions (or all
 * NaN), and a comparison of where an output is non-finite and of which kind. Values are compared by kind only
 * (finite, NaN, +inf, -inf): the finite values themselves are the business of the equivalence and parity tests.
 */
public final class NonFinite {
    /** How a test input is spoiled. */
    public enum Mode {
        /** No special values (the control: outputs must then be finite on both sides or non-finite on both). */
        NONE,
        /** One to three of NaN, +inf, -inf at random positions. */
        FEW,
        /** About one element in five replaced by NaN, +inf or -inf. */
        MANY,
        /** Every element NaN. */
        ALL_NAN
    }

    private static final double[] SPECIALS = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};

    private NonFinite() {
    }

    /** Standard-normal values (no overflow anywhere for the sizes tested) spoiled as {@code mode} says. */
    public static float[] values(int n, Random r, Mode mode) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        spoil(v, r, mode);
        return v;
    }

    /** Replaces elements of {@code v} in place as {@code mode} says. */
    public static void spoil(float[] v, Random r, Mode mode) {
        if (v.length == 0) {
            return;
        }
        switch (mode) {
            case NONE -> {
            }
            case FEW -> {
                int k = 1 + r.nextInt(3);
                for (int i = 0; i < k; i++) {
                    v[r.nextInt(v.length)] = (float) SPECIALS[r.nextInt(3)];
                }
            }
            case MANY -> {
                for (int i = 0; i < v.length; i++) {
                    if (r.nextInt(5) == 0) {
                        v[i] = (float) SPECIALS[r.nextInt(3)];
                    }
                }
            }
            case ALL_NAN -> java.util.Arrays.fill(v, Float.NaN);
        }
    }

    /** 0 finite, 1 NaN, 2 +inf, 3 -inf. */
    public static int kind(double v) {
        if (Double.isNaN(v)) {
            return 1;
        }
        if (v == Double.POSITIVE_INFINITY) {
            return 2;
        }
        return v == Double.NEGATIVE_INFINITY ? 3 : 0;
    }

    private static final String[] NAMES = {"finite", "NaN", "+inf", "-inf"};

    /** How many elements are not finite. */
    public static int count(double[] v) {
        int c = 0;
        for (double x : v) {
            c += kind(x) == 0 ? 0 : 1;
        }
        return c;
    }

    /**
     * Asserts that {@code actual} is non-finite exactly where {@code expected} is, with the same kind (NaN, +inf, -inf)
     * at each position; the message names the first few differing positions (logical row-major indices).
     */
    public static void assertSameKinds(String what, double[] expected, double[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError(what + ": " + actual.length + " values, expected " + expected.length);
        }
        StringBuilder diffs = new StringBuilder();
        int bad = 0;
        for (int i = 0; i < expected.length; i++) {
            int e = kind(expected[i]);
            int a = kind(actual[i]);
            if (e != a) {
                if (bad < 5) {
                    diffs.append(String.format("%n  element %d is %s (%s), expected %s (%s)", i, NAMES[a], actual[i], NAMES[e],
                            expected[i]));
                }
                bad++;
            }
        }
        if (bad > 0) {
            throw new AssertionError(what + ": " + bad + " of " + expected.length + " elements differ in kind (expected "
                    + count(expected) + " non-finite, got " + count(actual) + ")" + diffs);
        }
    }
}
