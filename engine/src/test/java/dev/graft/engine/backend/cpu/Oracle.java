package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;

import java.util.Random;

/**
 * Runs the same kernel on {@code cpu} and on the {@code reference} oracle and compares, so each property is a
 * few lines. Inputs are uploaded from the same host floats to both; on cpu a 4-D input may be put in either
 * layout first (an image batch arrives row-major, activations channels-last).
 *
 * <p>Tolerances. Where a kernel is exact arithmetic per element (copies, relu, add, mul, scale, axpy, max
 * pooling, the optimizers, which both backends compute in double and round once) the comparison is exact.
 * Where the cpu result is a sum of L float products, accumulated in float in an order oneDNN chooses
 * (blocked, FMA), the tolerance is the worst-case rounding-error bound of any such summation order
 * (Higham, "Accuracy and Stability of Numerical Algorithms", eq. 3.5): |err| <= gamma(L) * sum|terms| with
 * gamma(L) = L*u/(1-L*u) and u = 2^-24, plus one rounding of the reference's own result. It is linear in L
 * and computed per element from the absolute values of the inputs (the caller runs the reference kernel on
 * |inputs| to get sum|terms|), so it never hides a wrong term: a missing or misplaced product changes the
 * result by about |term|, far above L*u*sum|terms| for the sizes tested.
 */
final class Oracle {
    static final double U = Math.scalb(1.0, -24);
    static final Backend CPU = Backends.get(Device.CPU);
    static final Backend REF = Backends.get(Device.REFERENCE);

    private Oracle() {
    }

    /** gamma(L) of the summation bound, plus one rounding of the reference result. */
    static double gamma(long length) {
        double lu = (length + 1) * U;
        return lu / (1 - lu);
    }

    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextFloat() * 2 - 1;
        }
        return v;
    }

    /** Small integers in [-range, range]: many exact ties, for max pooling. */
    static float[] integers(int n, int range, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextInt(2 * range + 1) - range;
        }
        return v;
    }

    static float[] abs(float[] v) {
        float[] a = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            a[i] = Math.abs(v[i]);
        }
        return a;
    }

    /** Row-major data on the reference backend. */
    static NDArray ref(float[] data, Shape shape) {
        return REF.fromHost(data, shape);
    }

    /**
     * The same data on the reference backend in F64: its kernels then return the double result unrounded, an oracle
     * one rounding better than F32's (as cheap: the reference computes in double either way).
     */
    static NDArray ref64(float[] data, Shape shape) {
        double[] d = new double[data.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = data[i];
        }
        return REF.fromHost(d, shape, DType.F64);
    }

    /** The same data on cpu, channels-last when asked and the array is 4-D. */
    static NDArray cpu(float[] data, Shape shape, boolean channelsLast) {
        NDArray a = CPU.fromHost(data, shape);
        return channelsLast && shape.rank() == 4 ? CPU.toLayout(a, Layout.CHANNELS_LAST) : a;
    }

    static NDArray cpu(float[] data, Shape shape) {
        return cpu(data, shape, false);
    }

    /** Exact equality, NaN matching NaN. */
    static void assertExact(String what, NDArray expected, NDArray actual) {
        assertClose(what, expected, actual, new double[expected.numel()]);
    }

    /**
     * |actual - expected| <= tol[i] element by element (logical order), in double, so an F64 expected value is
     * compared unrounded; NaN must match NaN.
     */
    static void assertClose(String what, NDArray expected, NDArray actual, double[] tol) {
        if (!expected.shape().equals(actual.shape())) {
            throw new AssertionError(what + ": shape " + actual.shape() + ", expected " + expected.shape());
        }
        double[] e = expected.toDoubleArray();
        double[] a = actual.toDoubleArray();
        for (int i = 0; i < e.length; i++) {
            boolean ok = Double.isNaN(e[i]) ? Double.isNaN(a[i])
                    : (e[i] == a[i] || Math.abs(a[i] - e[i]) <= tol[i]);
            if (!ok) {
                throw new AssertionError(what + " " + expected.shape() + ": element " + i + " is " + a[i] + ", expected "
                        + e[i] + " (difference " + Math.abs(a[i] - e[i]) + ", tolerance " + tol[i] + ")");
            }
        }
    }

    /** tol[i] = gamma(length) * scale[i], scale being sum|terms| from the reference run on |inputs|. */
    static double[] summationTolerance(long length, NDArray absResult) {
        double[] s = absResult.toDoubleArray();
        double g = gamma(length);
        for (int i = 0; i < s.length; i++) {
            s[i] = g * s[i];
        }
        return s;
    }
}
