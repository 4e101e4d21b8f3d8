package dev.graft.engine.backend.cuda;

import java.util.Locale;

/**
 * The verdict on one output of the doctor's CUDA smoke run against the reference backend (F64 on the same float
 * inputs). Pure Java, no CUDA classes: a CPU-only test exercises it with made-up arrays.
 *
 * <p>Tolerance for an output that sums {@code k} products in float: {@code max|got - want| <= 32 * sqrt(k) * u *
 * max|want|}, with the unit roundoff {@code u = 2^-24} in exact FP32 math and {@code 2^-11} when TF32 is allowed
 * ({@link MathMode#FAST}: inputs rounded to 10 explicit mantissa bits). Rounding errors of {@code k} float additions
 * grow like {@code sqrt(k)} units on average; the factor 32 leaves room for cuDNN's Winograd and FFT algorithms,
 * whose transforms amplify rounding (the gpu parity tests use the same bound, {@code CudaTesting.tol}). A smoke run
 * is not a parity test: it must pass every correct kernel and catch broken ones (wrong layout or indexing, memory
 * left uninitialised, a missing synchronisation), whose errors are of the order of the output itself. For
 * {@code k = 72} the bound is 1.6e-5 of the output's scale in FP32 and 0.13 with TF32. A non-finite value on either
 * side, or a length mismatch, always fails.
 */
public record SmokeCheck(String what, long reductionLength, double unitRoundoff, double maxError, int worstIndex,
                         double scale, double tolerance) {
    /** Unit roundoff of FP32 (24-bit significand). */
    public static final double FP32 = 0x1p-24;
    /** Unit roundoff of TF32 products (11-bit significand). */
    public static final double TF32 = 0x1p-11;
    static final double SAFETY = 32;

    /** The unit roundoff of {@code mode}'s matrix products. */
    public static double unitRoundoff(MathMode mode) {
        return mode == MathMode.FAST ? TF32 : FP32;
    }

    /** Compares {@code got} (the device's float result) with {@code want} (the reference's) for a k-term reduction. */
    public static SmokeCheck compare(String what, float[] got, double[] want, long reductionLength, double unitRoundoff) {
        double scale = 0;
        for (double v : want) {
            scale = Math.max(scale, Math.abs(v));
        }
        scale = scale == 0 ? 1 : scale;
        double tolerance = SAFETY * Math.sqrt(Math.max(1, reductionLength)) * unitRoundoff * scale;
        if (got.length != want.length) {
            return new SmokeCheck(what, reductionLength, unitRoundoff, Double.POSITIVE_INFINITY, -1, scale, tolerance);
        }
        double worst = 0;
        int at = -1;
        for (int i = 0; i < got.length; i++) {
            double e = Float.isFinite(got[i]) && Double.isFinite(want[i]) ? Math.abs(got[i] - want[i]) : Double.POSITIVE_INFINITY;
            if (e > worst || at < 0) {
                worst = e;
                at = i;
            }
        }
        return new SmokeCheck(what, reductionLength, unitRoundoff, worst, at, scale, tolerance);
    }

    public boolean passed() {
        return maxError <= tolerance;
    }

    /** "conv2d+relu: max error 3.1e-07 at 17 <= tolerance 1.6e-05 (32 sqrt(72) 2^-24 x scale 2.1e+00)  OK". */
    public String describe() {
        String bits = unitRoundoff == TF32 ? "2^-11 (TF32)" : unitRoundoff == FP32 ? "2^-24" : String.valueOf(unitRoundoff);
        return String.format(Locale.ROOT, "%s: max error %.2e at %d %s tolerance %.2e (%.0f sqrt(%d) %s x scale %.2e)  %s",
                what, maxError, worstIndex, passed() ? "<=" : ">", tolerance, SAFETY, reductionLength, bits, scale,
                passed() ? "OK" : "FAILED");
    }
}
