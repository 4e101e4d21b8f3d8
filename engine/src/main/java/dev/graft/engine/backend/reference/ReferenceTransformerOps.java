package dev.graft.engine.backend.reference;

import dev.graft.engine.Shape;

/**
 * Layer norm, GELU, roll and zero padding in plain Java on logical row-major doubles, every sum accumulated in
 * double: the reference the cpu and cuda kernels are tested against. Axis copies see the array as
 * [outer, n, inner] around the axis they work on.
 */
final class ReferenceTransformerOps {
    private static final double SQRT_HALF = Math.sqrt(0.5);
    private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
    private static final double TANH_K = Math.sqrt(2 / Math.PI);
    private static final double TANH_C = 0.044715;

    private ReferenceTransformerOps() {
    }

    /** y, mean and biased variance per row of C. */
    static double[][] layerNorm(double[] x, int c, double[] w, double[] b, double eps) {
        int rows = x.length / c;
        double[] y = new double[x.length];
        double[] mean = new double[rows];
        double[] var = new double[rows];
        for (int r = 0; r < rows; r++) {
            int o = r * c;
            double s = 0;
            for (int i = 0; i < c; i++) {
                s += x[o + i];
            }
            double m = s / c;
            double q = 0;
            for (int i = 0; i < c; i++) {
                double d = x[o + i] - m;
                q += d * d;
            }
            double v = q / c;
            double rstd = 1 / Math.sqrt(v + eps);
            for (int i = 0; i < c; i++) {
                y[o + i] = (x[o + i] - m) * rstd * w[i] + b[i];
            }
            mean[r] = m;
            var[r] = v;
        }
        return new double[][] {y, mean, var};
    }

    /**
     * dx, dweight, dbias. With xhat = (x - mean) rstd and g = dy * w: dx = rstd (g - mean(g) - xhat mean(g xhat)),
     * dweight = sum over rows of dy xhat, dbias = sum over rows of dy.
     */
    static double[][] layerNormBackward(double[] dy, double[] x, int c, double[] w, double[] mean, double[] var, double eps) {
        int rows = x.length / c;
        double[] dx = new double[x.length];
        double[] dw = new double[c];
        double[] db = new double[c];
        for (int r = 0; r < rows; r++) {
            int o = r * c;
            double rstd = 1 / Math.sqrt(var[r] + eps);
            double sg = 0;
            double sgx = 0;
            for (int i = 0; i < c; i++) {
                double xhat = (x[o + i] - mean[r]) * rstd;
                double g = dy[o + i] * w[i];
                sg += g;
                sgx += g * xhat;
                dw[i] += dy[o + i] * xhat;
                db[i] += dy[o + i];
            }
            double mg = sg / c;
            double mgx = sgx / c;
            for (int i = 0; i < c; i++) {
                double xhat = (x[o + i] - mean[r]) * rstd;
                dx[o + i] = rstd * (dy[o + i] * w[i] - mg - xhat * mgx);
            }
        }
        return new double[][] {dx, dw, db};
    }

    static double gelu(double x, boolean tanh) {
        if (tanh) {
            return 0.5 * x * (1 + Math.tanh(TANH_K * (x + TANH_C * x * x * x)));
        }
        return 0.5 * x * (1 + Erf.erf(x * SQRT_HALF));
    }

    static double geluDerivative(double x, boolean tanh) {
        if (tanh) {
            double t = Math.tanh(TANH_K * (x + TANH_C * x * x * x));
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * TANH_K * (1 + 3 * TANH_C * x * x);
        }
        return 0.5 * (1 + Erf.erf(x * SQRT_HALF)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    }

    /** One axis rolled by {@code shift} in [0, n). */
    static double[] roll(double[] x, Shape s, int axis, int shift) {
        int n = s.dim(axis);
        int inner = inner(s, axis);
        int outer = x.length / Math.max(1, n * inner);
        double[] y = new double[x.length];
        int block = n * inner;
        for (int o = 0; o < outer; o++) {
            int base = o * block;
            System.arraycopy(x, base, y, base + shift * inner, (n - shift) * inner);
            System.arraycopy(x, base + (n - shift) * inner, y, base, shift * inner);
        }
        return y;
    }

    /** Zero padding of one axis: {@code before} zeros, x, {@code after} zeros. */
    static double[] pad(double[] x, Shape s, int axis, int before, int after) {
        int n = s.dim(axis);
        int inner = inner(s, axis);
        int outer = outer(s, axis);
        int m = before + n + after;
        double[] y = new double[outer * m * inner];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(x, o * n * inner, y, (o * m + before) * inner, n * inner);
        }
        return y;
    }

    /** Entries [before, before + n) of one axis of length {@code s.dim(axis)}. */
    static double[] crop(double[] x, Shape s, int axis, int before, int n) {
        int m = s.dim(axis);
        int inner = inner(s, axis);
        int outer = outer(s, axis);
        double[] y = new double[outer * n * inner];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(x, (o * m + before) * inner, y, o * n * inner, n * inner);
        }
        return y;
    }

    static int inner(Shape s, int axis) {
        int p = 1;
        for (int d = axis + 1; d < s.rank(); d++) {
            p *= s.dim(d);
        }
        return p;
    }

    static int outer(Shape s, int axis) {
        int p = 1;
        for (int d = 0; d < axis; d++) {
            p *= s.dim(d);
        }
        return p;
    }

    static Shape withDim(Shape s, int axis, int size) {
        int[] d = s.dims();
        d[axis] = size;
        return Shape.of(d);
    }
}
