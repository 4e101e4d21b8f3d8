package dev.graft.reuse;

/**
 * Linear centred kernel alignment between two representations of the same n examples, from their Gram matrices
 * K = X X^T and L = Y Y^T (n x n, float64), so the feature widths never meet: memory is O(n^2).
 *
 * <ul>
 * <li>{@link #biased}: Kornblith et al. 2019, CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) with the biased
 * estimator HSIC = tr(K H L H) / (n - 1)^2, H = I - 11^T / n (the scale cancels).</li>
 * <li>{@link #debiased}: the same ratio with Song et al. 2012's unbiased estimator, K~ and L~ being K and L with
 * zero diagonals: HSIC_u = [tr(K~ L~) + (1^T K~ 1)(1^T L~ 1) / ((n - 1)(n - 2)) - 2 / (n - 2) 1^T K~ L~ 1] /
 * (n (n - 3)), as Nguyen et al. 2021 and Matsoukas et al. 2022 use it; needs n >= 4. Near 0 for independent
 * representations, where the biased form stays well above 0 when n is small next to the widths.</li>
 * </ul>
 * A ratio whose denominator is not positive (a constant representation) is NaN.
 */
public final class Cka {
    private Cka() {
    }

    /** Gram matrix X X^T of rows {@code x} [n][d], in float64. */
    public static double[][] gram(double[][] x) {
        int n = x.length;
        double[][] k = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int t = 0; t < x[i].length; t++) {
                    s += x[i][t] * x[j][t];
                }
                k[i][j] = s;
                k[j][i] = s;
            }
        }
        return k;
    }

    public static double biased(double[][] k, double[][] l) {
        check(k, l, 2);
        double[][] kc = centred(k);
        double[][] lc = centred(l);
        return ratio(dot(kc, lc), dot(kc, kc), dot(lc, lc));
    }

    public static double debiased(double[][] k, double[][] l) {
        check(k, l, 4);
        return ratio(unbiasedHsic(k, l), unbiasedHsic(k, k), unbiasedHsic(l, l));
    }

    /** Song et al. 2012's unbiased HSIC estimator of two symmetric Gram matrices (diagonals ignored). */
    static double unbiasedHsic(double[][] k, double[][] l) {
        int n = k.length;
        double trace = 0, sumK = 0, sumL = 0, cross = 0;
        for (int i = 0; i < n; i++) {
            double rowK = 0, rowL = 0;
            for (int j = 0; j < n; j++) {
                if (i != j) {
                    trace += k[i][j] * l[i][j];
                    rowK += k[i][j];
                    rowL += l[i][j];
                }
            }
            sumK += rowK;
            sumL += rowL;
            cross += rowK * rowL; // 1^T K~ L~ 1 = sum_i (K~ 1)_i (L~ 1)_i for symmetric K~
        }
        return (trace + sumK * sumL / ((n - 1.0) * (n - 2.0)) - 2.0 / (n - 2.0) * cross) / (n * (n - 3.0));
    }

    /** H K H. */
    static double[][] centred(double[][] k) {
        int n = k.length;
        double[] row = new double[n];
        double all = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                row[i] += k[i][j];
            }
            all += row[i];
            row[i] /= n;
        }
        all /= (double) n * n;
        double[][] c = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                c[i][j] = k[i][j] - row[i] - row[j] + all; // K symmetric: column means equal row means
            }
        }
        return c;
    }

    private static double dot(double[][] a, double[][] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a.length; j++) {
                s += a[i][j] * b[i][j];
            }
        }
        return s;
    }

    private static double ratio(double xy, double xx, double yy) {
        double d = xx * yy;
        return d > 0 ? xy / Math.sqrt(d) : Double.NaN;
    }

    private static void check(double[][] k, double[][] l, int minimum) {
        if (k.length != l.length) {
            throw new IllegalArgumentException("CKA needs Gram matrices of the same examples, got " + k.length + " and " + l.length + " rows");
        }
        if (k.length < minimum) {
            throw new IllegalArgumentException("CKA needs at least " + minimum + " examples, got " + k.length);
        }
    }
}
