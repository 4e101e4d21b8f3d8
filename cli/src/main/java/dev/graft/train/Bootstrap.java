package dev.graft.train;

import java.util.Arrays;

/**
 * The stratified, seeded bootstrap behind Graft's 95% confidence intervals (percentile method).
 *
 * <p>A resample keeps every class's count: for each class in class order, it draws that many images of the class
 * with replacement. So a resample always has the positives and negatives that sensitivity, specificity and AUC need,
 * and its prevalence is the set's. A resample is represented by how often each image was drawn ({@code counts[i]}),
 * so statistics need no copy of the data.
 *
 * <p>The random numbers are SplitMix64 (Steele, Lea and Flood 2014) from {@code seed}, each draw
 * {@code members[floor(u * size)]} with {@code u = (next >>> 11) * 2^-53}: a generator short enough to restate in a
 * few lines of Python, so the test fixtures reproduce the same resamples independently
 * ({@code cli/src/test/fixtures/make_statistics_fixtures.py}).
 */
public final class Bootstrap {
    public static final int DEFAULT_RESAMPLES = 1000;
    public static final int MAX_RESAMPLES = 100_000;

    private final int[][] members;
    private final int size;
    private final long[] state = new long[1];

    /** {@code strata[i]}: image i's class in 0..classes-1; {@code seed}: where the random numbers start. */
    public Bootstrap(int[] strata, int classes, long seed) {
        int[] count = new int[classes];
        for (int s : strata) {
            if (s < 0 || s >= classes) {
                throw new IllegalArgumentException("stratum " + s + " outside 0.." + (classes - 1));
            }
            count[s]++;
        }
        members = new int[classes][];
        for (int k = 0; k < classes; k++) {
            members[k] = new int[count[k]];
        }
        int[] fill = new int[classes];
        for (int i = 0; i < strata.length; i++) {
            members[strata[i]][fill[strata[i]]++] = i;
        }
        size = strata.length;
        state[0] = seed;
    }

    /** The next resample: how often each image is drawn; class counts equal the original's. */
    public int[] next() {
        int[] counts = new int[size];
        for (int[] m : members) {
            for (int j = 0; j < m.length; j++) {
                counts[m[(int) (nextDouble() * m.length)]]++;
            }
        }
        return counts;
    }

    private double nextDouble() {
        return (splitMix64() >>> 11) * 0x1.0p-53;
    }

    private long splitMix64() {
        long z = (state[0] += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * The {@code q}-quantile (0..1) of the finite values of {@code values}, interpolating linearly between order
     * statistics (numpy's default, {@code np.percentile(..., method="linear")}); NaN when none is finite. NaN values
     * (a statistic undefined in that resample, such as PPV with no predicted positive) are left out.
     */
    public static double quantile(double[] values, double q) {
        double[] v = Arrays.stream(values).filter(Double::isFinite).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        double pos = q * (v.length - 1);
        int lo = (int) Math.floor(pos);
        if (lo >= v.length - 1) {
            return v[v.length - 1];
        }
        double t = pos - lo;
        return v[lo] + (v[lo + 1] - v[lo]) * t;
    }

    /** Resamples in which the statistic was undefined (NaN). */
    public static int undefined(double[] values) {
        int n = 0;
        for (double v : values) {
            n += Double.isNaN(v) ? 1 : 0;
        }
        return n;
    }
}
