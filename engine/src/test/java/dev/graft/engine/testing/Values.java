package dev.graft.engine.testing;

import java.util.Random;

/** Seeded test values with the properties finite differences need (no ties, no kinks). */
public final class Values {
    private Values() {
    }

    /** Uniform in [lo, hi). */
    public static double[] uniform(int n, long seed, double lo, double hi) {
        Random r = new Random(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = lo + (hi - lo) * r.nextDouble();
        }
        return v;
    }

    /** Uniform in [-1, 1). */
    public static double[] uniform(int n, long seed) {
        return uniform(n, seed, -1, 1);
    }

    /**
     * A shuffled grid of n values in (-1, 1), 2/n apart: no ties, and no two values within a finite-difference
     * step (1e-6) of each other for any n a test uses, so a max never changes hands under a probe.
     */
    public static double[] distinct(int n, long seed) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = -1 + 2 * (i + 0.5) / n;
        }
        Random r = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            double t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
        return v;
    }

    /** Values with margin <= |v| < 1 + margin and a random sign: away from a kink at 0 (relu). */
    public static double[] awayFromZero(int n, long seed, double margin) {
        double[] v = uniform(n, seed);
        for (int i = 0; i < n; i++) {
            v[i] = v[i] >= 0 ? v[i] + margin : v[i] - margin;
        }
        return v;
    }

    public static int numel(int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }
}
