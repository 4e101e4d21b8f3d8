package dev.graft.train;

import java.util.Arrays;

/**
 * DeLong's confidence interval for one ROC AUC (DeLong, DeLong and Clarke-Pearson 1988), computed with midranks as in
 * Sun and Xu's fast algorithm (2014), O(n log n).
 *
 * <p>With m positives x_i and n negatives y_j and the Mann-Whitney kernel psi(x, y) = 1 if x &gt; y, 1/2 if x = y,
 * else 0, the structural components are V10_i = mean_j psi(x_i, y_j) and V01_j = mean_i psi(x_i, y_j); the AUC is
 * their common mean, and its variance estimate is S10 / m + S01 / n, where S10 and S01 are the sample variances
 * (denominators m - 1 and n - 1) of V10 and V01. Midranks give both without the m x n kernel matrix:
 * V10_i = (R_i - R^x_i) / n and V01_j = 1 - (R_j - R^y_j) / m, where R is the midrank in the pooled scores and R^x,
 * R^y the midrank among the positives or negatives alone.
 *
 * <p>The interval is the normal one, AUC +- 1.959964 standard errors (the 97.5% normal quantile), clipped to [0, 1].
 * Undefined cases are NaN rather than an error: fewer than two positives or two negatives (no sample variance).
 * A perfectly separated set (AUC 1 or 0) has variance 0 and the interval collapses to the point; the bootstrap has the
 * same weakness, so say so when reporting a perfect AUC on a small set.
 */
public record DeLong(double auc, double variance, int positives, int negatives) {
    /** The 97.5% quantile of the standard normal distribution. */
    public static final double Z_975 = 1.959963984540054;

    public static DeLong of(double[] scores, boolean[] positive) {
        if (scores.length != positive.length) {
            throw new IllegalArgumentException(scores.length + " scores for " + positive.length + " labels");
        }
        int m = 0;
        for (boolean p : positive) {
            m += p ? 1 : 0;
        }
        int n = scores.length - m;
        double[] x = new double[m], y = new double[n];
        for (int i = 0, a = 0, b = 0; i < scores.length; i++) {
            if (!Double.isFinite(scores[i])) {
                throw new IllegalArgumentException("score " + i + " is not finite: " + scores[i]);
            }
            if (positive[i]) {
                x[a++] = scores[i];
            } else {
                y[b++] = scores[i];
            }
        }
        if (m == 0 || n == 0) {
            return new DeLong(Double.NaN, Double.NaN, m, n);
        }
        double[] pooled = new double[m + n];
        System.arraycopy(x, 0, pooled, 0, m);
        System.arraycopy(y, 0, pooled, m, n);
        double[] rz = midranks(pooled), rx = midranks(x), ry = midranks(y);
        double[] v10 = new double[m], v01 = new double[n];
        for (int i = 0; i < m; i++) {
            v10[i] = (rz[i] - rx[i]) / n;
        }
        for (int j = 0; j < n; j++) {
            v01[j] = 1 - (rz[m + j] - ry[j]) / m;
        }
        double auc = mean(v10);
        double variance = m < 2 || n < 2 ? Double.NaN : sampleVariance(v10) / m + sampleVariance(v01) / n;
        return new DeLong(auc, variance, m, n);
    }

    public double standardError() {
        return Math.sqrt(variance);
    }

    /** {lower, upper}: AUC +- 1.96 standard errors, clipped to [0, 1]; NaNs where the variance is undefined. */
    public double[] ci95() {
        if (Double.isNaN(variance)) {
            return new double[] {Double.NaN, Double.NaN};
        }
        double half = Z_975 * standardError();
        return new double[] {Math.max(0, auc - half), Math.min(1, auc + half)};
    }

    /** 1-based midranks: tied values share the mean of the ranks they span. */
    static double[] midranks(double[] v) {
        int n = v.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(v[a], v[b]));
        double[] r = new double[n];
        int i = 0;
        while (i < n) {
            int j = i;
            while (j < n && v[order[j]] == v[order[i]]) {
                j++;
            }
            double rank = (i + 1 + j) / 2.0; // mean of the 1-based ranks i+1..j
            for (int k = i; k < j; k++) {
                r[order[k]] = rank;
            }
            i = j;
        }
        return r;
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double d : v) {
            s += d;
        }
        return s / v.length;
    }

    private static double sampleVariance(double[] v) {
        double mu = mean(v), s = 0;
        for (double d : v) {
            s += (d - mu) * (d - mu);
        }
        return s / (v.length - 1);
    }
}
