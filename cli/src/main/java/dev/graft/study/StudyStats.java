package dev.graft.study;

/**
 * The study table's statistics: mean and sample standard deviation (n - 1) over seeds, and the paired t-test of WT
 * against RI across seeds (the seed is the pairing: the same data order, head init and augmentation stream). The
 * two-sided p-value comes from Student's t distribution through the regularized incomplete beta function,
 * P(|T| > t) = I_{df/(df+t^2)}(df/2, 1/2), evaluated by its continued fraction (modified Lentz) with ln Gamma by
 * Lanczos' approximation (g = 7, 9 terms), good to about 1e-13 here. Checked against scipy in StudyStatsTest.
 */
public final class StudyStats {
    private StudyStats() {
    }

    /** A paired t-test: n pairs, the mean difference, t, its degrees of freedom and the two-sided p-value (NaN if undefined). */
    public record PairedT(int n, double meanDifference, double t, int df, double p) {
    }

    public static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return v.length == 0 ? Double.NaN : s / v.length;
    }

    /** Sample standard deviation (divisor n - 1); NaN below two values. */
    public static double std(double[] v) {
        if (v.length < 2) {
            return Double.NaN;
        }
        double m = mean(v);
        double ss = 0;
        for (double x : v) {
            ss += (x - m) * (x - m);
        }
        return Math.sqrt(ss / (v.length - 1));
    }

    /**
     * Paired t-test of {@code a} against {@code b} (same length, pair i from seed i): t = mean(d) / (sd(d) / sqrt(n)),
     * d = a - b, df = n - 1. Fewer than two pairs, or differences with no spread (below 1e-12), give NaN t and p (a constant non-zero
     * difference would give an infinite t that says nothing about seeds not run).
     */
    public static PairedT pairedT(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("paired samples of different lengths: " + a.length + " and " + b.length);
        }
        int n = a.length;
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = a[i] - b[i];
        }
        double md = mean(d);
        double sd = std(d);
        // Metrics lie in [0, 1]: a spread under 1e-12 is rounding (0.9 - 0.8 vs 0.8 - 0.7), i.e. a constant difference.
        if (n < 2 || !(sd > 1e-12)) {
            return new PairedT(n, md, Double.NaN, n - 1, Double.NaN);
        }
        double t = md / (sd / Math.sqrt(n));
        return new PairedT(n, md, t, n - 1, twoSidedP(t, n - 1));
    }

    /** P(|T| >= |t|) for Student's t with {@code df} degrees of freedom. */
    public static double twoSidedP(double t, double df) {
        if (Double.isNaN(t) || !(df > 0)) {
            return Double.NaN;
        }
        if (Double.isInfinite(t)) {
            return 0;
        }
        return regularizedBeta(df / (df + t * t), df / 2, 0.5);
    }

    /** I_x(a, b), the regularized incomplete beta function, for x in [0, 1] and a, b > 0. */
    static double regularizedBeta(double x, double a, double b) {
        if (x <= 0) {
            return 0;
        }
        if (x >= 1) {
            return 1;
        }
        double lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
        // The continued fraction converges fast for x < (a + 1) / (a + b + 2); otherwise use I_x(a, b) = 1 - I_{1-x}(b, a).
        if (x < (a + 1) / (a + b + 2)) {
            return Math.exp(lnFront) * betaFraction(x, a, b) / a;
        }
        return 1 - Math.exp(lnFront) * betaFraction(1 - x, b, a) / b;
    }

    /** The continued fraction of the incomplete beta function, by the modified Lentz method. */
    private static double betaFraction(double x, double a, double b) {
        final double tiny = 1e-300;
        double c = 1;
        double d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.abs(d) < tiny ? tiny : d);
        double h = d;
        for (int m = 1; m <= 300; m++) {
            int m2 = 2 * m;
            double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2)); // even step
            d = 1 + num * d;
            d = 1 / (Math.abs(d) < tiny ? tiny : d);
            c = 1 + num / c;
            c = Math.abs(c) < tiny ? tiny : c;
            h *= d * c;
            num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)); // odd step
            d = 1 + num * d;
            d = 1 / (Math.abs(d) < tiny ? tiny : d);
            c = 1 + num / c;
            c = Math.abs(c) < tiny ? tiny : c;
            double delta = d * c;
            h *= delta;
            if (Math.abs(delta - 1) < 1e-15) {
                break;
            }
        }
        return h;
    }

    private static final double[] LANCZOS = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};

    /** ln Gamma(x) for x > 0 (Lanczos, g = 7). */
    static double lnGamma(double x) {
        if (x < 0.5) {
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x); // reflection
        }
        x -= 1;
        double s = LANCZOS[0];
        for (int i = 1; i < LANCZOS.length; i++) {
            s += LANCZOS[i] / (x + i);
        }
        double t = x + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
    }
}
