package dev.graft.engine.backend.cuda;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import org.junit.jupiter.api.Assumptions;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Shared by the gpu tests: the device (or a skip with the reason, or a failure under {@code -Dgpu.required=true}),
 * inputs made once as floats and put on both backends (GPU F32, reference F64), and comparisons with stated
 * tolerances.
 *
 * <p>Tolerance for an output that sums k products in F32 (convolution, gemm, batch-norm statistics):
 * {@code maxAbsError <= 32 * sqrt(k) * 2^-24 * max|reference|}. Rounding errors of k float additions grow like
 * sqrt(k) units of 2^-24 on average (k in the worst case); the factor 32 leaves room for cuDNN's Winograd and FFT
 * algorithms, whose transforms amplify rounding. TF32 (2^-11 per product, relative ~5e-4 of the output's scale)
 * fails it by 10x for any k used here, so exact mode is really FP32.
 */
final class CudaTesting {
    static final String REQUIRED = "gpu.required";
    static final double U = 0x1p-24;

    private CudaTesting() {
    }

    /** The cuda:0 backend; skips (or fails with -Dgpu.required=true) with the probe's reason where CUDA is unusable. */
    static CudaBackend cuda() {
        Availability a = Backends.availability(Device.Kind.CUDA);
        if (!a.available()) {
            String reason = "no usable CUDA device: " + a.detail();
            if (Boolean.getBoolean(REQUIRED)) {
                fail(reason + " (and -D" + REQUIRED + "=true)");
            }
            Assumptions.abort(reason);
        }
        return (CudaBackend) Backends.get(Device.cuda(0));
    }

    static Backend ref() {
        return Backends.get(Device.REFERENCE);
    }

    /** Relative tolerance for a k-term F32 reduction, as the class comment derives. */
    static double tol(long k) {
        return 32 * Math.sqrt(Math.max(1, k)) * U;
    }

    static float[] uniform(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextFloat() * 2 - 1;
        }
        return v;
    }

    static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** The same values on both backends: {gpu F32, reference F64}. */
    static NDArray[] pair(CudaBackend gpu, float[] v, int... shape) {
        Shape s = Shape.of(shape);
        return new NDArray[] {gpu.fromHost(v, s), ref().fromHost(doubles(v), s, DType.F64)};
    }

    static NDArray[] pair(CudaBackend gpu, Random r, int... shape) {
        return pair(gpu, uniform(r, Shape.of(shape).numel()), shape);
    }

    /** max|gpu - ref| <= relTol * scale, with scale = max|ref| (or 1 when the reference is all zeros); NaN matches NaN. */
    static void assertNear(String what, NDArray gpu, NDArray ref, double relTol) {
        double[] r = ref.toDoubleArray();
        double scale = 0;
        for (double v : r) {
            if (!Double.isNaN(v)) { // NaN is matched element by element, not a scale
                scale = Math.max(scale, Math.abs(v));
            }
        }
        assertNear(what, gpu, ref, relTol, scale == 0 ? 1 : scale);
    }

    static void assertNear(String what, NDArray gpu, NDArray ref, double relTol, double scale) {
        assertEquals(ref.shape(), gpu.shape(), what + ": shape");
        float[] g = gpu.toFloatArray();
        double[] r = ref.toDoubleArray();
        int worst = -1;
        double err = 0;
        for (int i = 0; i < r.length; i++) {
            if (Double.isNaN(r[i]) && Float.isNaN(g[i])) {
                continue;
            }
            double e = Math.abs(g[i] - r[i]);
            if (Double.isNaN(e)) { // NaN on one side only: fails, and a later finite error must not hide it
                err = e;
                worst = i;
                break;
            }
            if (e > err) {
                err = e;
                worst = i;
            }
        }
        if (!(err <= relTol * scale)) {
            fail(String.format("%s: max error %.3e at %d (gpu %s, reference %s) exceeds %.3e = %.3e x scale %.3e",
                    what, err, worst, g[worst], r[worst], relTol * scale, relTol, scale));
        }
    }

    /** Per element |gpu - ref| <= ulps * 2^-24 * |ref| (-0 equals 0, NaN matches NaN): for results that are one rounding of the exact value. */
    static void assertUlps(String what, NDArray gpu, NDArray ref, double ulps) {
        assertEquals(ref.shape(), gpu.shape(), what + ": shape");
        float[] g = gpu.toFloatArray();
        double[] r = ref.toDoubleArray();
        for (int i = 0; i < r.length; i++) {
            if (Double.isNaN(r[i]) && Float.isNaN(g[i])) {
                continue;
            }
            double e = Math.abs(g[i] - r[i]);
            if (!(e <= ulps * U * Math.abs(r[i]) + Float.MIN_NORMAL)) {
                fail(String.format("%s: element %d: gpu %s, reference %s (error %.3e > %.1f ulps)", what, i, g[i], r[i], e, ulps));
            }
        }
    }
}
