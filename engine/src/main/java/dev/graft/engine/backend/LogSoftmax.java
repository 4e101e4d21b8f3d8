package dev.graft.engine.backend;

/**
 * Log-softmax of one row and its backward in double, written to keep relative precision where the softmax saturates:
 * the top logit's log-probability is -log1p(s), s being the sum of the other exponentials after subtracting the max
 * (log(1 + s) would lose s below 1e-16), and the backward dx = dy - exp(y) * sum(dy) is evaluated, where the
 * probability exceeds 1/2, as (dy - sum(dy)) - expm1(y) * sum(dy), whose terms do not cancel when exp(y) is 1 to
 * double precision (the cross-entropy gradient of a confident prediction, p - 1, is then -expm1(y), not 0). The reference and cpu backends
 * share it; NaN and infinities propagate as in PyTorch 1.13 (checked by hand): a row with a NaN or a +inf logit is
 * all NaN (torch computes {@code x - max}, inf - inf = NaN, and that NaN enters every element through the sum), a
 * row of -inf is all NaN, a -inf logit beside finite ones is -inf. In the backward an infinite or NaN {@code sum(dy)}
 * takes torch's plain formula {@code dy - exp(y) * sum}: the expm1 form would make inf - inf = NaN where torch has
 * -inf.
 */
public final class LogSoftmax {
    private static final double LN2 = Math.log(2);

    private LogSoftmax() {
    }

    public static double[] forward(double[] x) {
        int top = 0;
        double max = Double.NEGATIVE_INFINITY;
        boolean nan = false;
        for (int j = 0; j < x.length; j++) {
            nan |= Double.isNaN(x[j]);
            if (x[j] > max) {
                max = x[j];
                top = j;
            }
        }
        double[] y = new double[x.length];
        if (nan || max == Double.NEGATIVE_INFINITY || max == Double.POSITIVE_INFINITY) {
            java.util.Arrays.fill(y, Double.NaN);
            return y;
        }
        double others = 0;
        for (int j = 0; j < x.length; j++) {
            if (j != top) {
                others += Math.exp(x[j] - max);
            }
        }
        double log = Math.log1p(others);
        for (int j = 0; j < x.length; j++) {
            y[j] = (x[j] - max) - log; // (x - max) is exact for the top logit
        }
        return y;
    }

    public static double[] backward(double[] dy, double[] y) {
        double sum = 0;
        for (double g : dy) {
            sum += g;
        }
        double[] dx = new double[dy.length];
        boolean finite = Double.isFinite(sum);
        for (int j = 0; j < dy.length; j++) {
            // exp(y) * sum cancels against dy where p = exp(y) is near dy / sum: for p > 1/2 (only the top class can be
            // there) take it as sum + expm1(y) * sum, whose first part cancels exactly against dy instead.
            dx[j] = finite && y[j] > -LN2 ? (dy[j] - sum) - Math.expm1(y[j]) * sum : dy[j] - Math.exp(y[j]) * sum;
        }
        return dx;
    }
}
