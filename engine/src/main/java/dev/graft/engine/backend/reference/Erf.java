package dev.graft.engine.backend.reference;

/**
 * The error function in double, for the reference GELU. Below |x| = 3 the everywhere-positive series
 * {@code erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 * 3 * ... * (2n+1))} (no cancellation); from 3 on
 * {@code erf(x) = 1 - erfc(x)} with erfc's continued fraction
 * {@code erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...))))} evaluated backwards
 * from 80 terms. Accuracy: within 1e-15 absolute of Python's math.erf at the points ErfTest checks (|x| up to 6),
 * up to about eight units in the last place of a double (the series near x = 2.5); GELU's F32 results round that away entirely.
 */
final class Erf {
    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
    private static final double INV_SQRT_PI = 1 / Math.sqrt(Math.PI);

    private Erf() {
    }

    static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        double r;
        if (a < 3) {
            double x2 = 2 * a * a;
            double term = a;
            double sum = a;
            for (int n = 0; n < 200 && term > 1e-18 * sum; n++) {
                term *= x2 / (2 * n + 3);
                sum += term;
            }
            r = TWO_OVER_SQRT_PI * expMinusSquare(a) * sum;
        } else if (a < 7) {
            double f = a;
            for (int k = 80; k >= 1; k--) {
                f = a + (k * 0.5) / f;
            }
            r = 1 - expMinusSquare(a) * INV_SQRT_PI / f;
        } else {
            r = 1; // erfc(7) < 5e-23, far below half a unit in the last place of 1
        }
        return x < 0 ? -r : r;
    }

    /**
     * exp(-a^2) with a^2 split exactly into hi + lo (fma): rounding a^2 first would cost a relative error of a^2 u,
     * nine ulps at a = 3.
     */
    private static double expMinusSquare(double a) {
        double hi = a * a;
        double lo = Math.fma(a, a, -hi);
        return Math.exp(-hi) * (1 - lo);
    }
}
