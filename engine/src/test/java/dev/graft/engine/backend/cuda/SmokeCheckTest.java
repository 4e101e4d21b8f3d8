package dev.graft.engine.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The doctor's smoke verdict on made-up results (no GPU needed): within the stated tolerance passes, beyond fails. */
class SmokeCheckTest {
    /** A reference whose largest magnitude is 4, so the tolerance is 32 * sqrt(72) * u * 4. */
    private static final double[] WANT = {1.5, -4.0, 0.25, 3.0, 0.0, 2.0};
    private static final double FP32_TOL = 32 * Math.sqrt(72) * 0x1p-24 * 4;

    private static float[] perturbed(int index, double by) {
        float[] got = new float[WANT.length];
        for (int i = 0; i < got.length; i++) {
            got[i] = (float) (WANT[i] + (i == index ? by : 0));
        }
        return got;
    }

    @Test
    void theToleranceIsTheStatedBound() {
        SmokeCheck c = SmokeCheck.compare("conv", perturbed(-1, 0), WANT, 72, SmokeCheck.FP32);
        assertEquals(FP32_TOL, c.tolerance(), 1e-18);
        assertEquals(4.0, c.scale());
        assertEquals(0.0, c.maxError());
        assertTrue(c.passed(), c.describe());
        assertEquals(32 * Math.sqrt(72) * 0x1p-11 * 4, SmokeCheck.compare("conv", perturbed(-1, 0), WANT, 72,
                SmokeCheck.unitRoundoff(MathMode.FAST)).tolerance(), 1e-15);
        assertEquals(SmokeCheck.FP32, SmokeCheck.unitRoundoff(MathMode.EXACT));
    }

    @Test
    void withinTheTolerancePassesBeyondItFails() {
        SmokeCheck near = SmokeCheck.compare("conv", perturbed(3, 0.5 * FP32_TOL), WANT, 72, SmokeCheck.FP32);
        assertTrue(near.passed(), near.describe());
        assertTrue(near.describe().endsWith("OK"), near.describe());
        SmokeCheck off = SmokeCheck.compare("conv", perturbed(3, 4 * FP32_TOL), WANT, 72, SmokeCheck.FP32);
        assertFalse(off.passed(), off.describe());
        assertEquals(3, off.worstIndex());
        assertTrue(off.describe().contains("FAILED") && off.describe().contains("conv"), off.describe());
        // A wrong kernel (say, a transposed weight) is off by the order of the output itself: fails even with TF32.
        assertFalse(SmokeCheck.compare("conv", perturbed(1, 2.0), WANT, 72, SmokeCheck.TF32).passed());
    }

    @Test
    void nonFiniteValuesAndWrongLengthsFail() {
        float[] nan = perturbed(-1, 0);
        nan[2] = Float.NaN;
        SmokeCheck c = SmokeCheck.compare("gemm", nan, WANT, 72, SmokeCheck.TF32);
        assertFalse(c.passed());
        assertEquals(2, c.worstIndex(), "a NaN is not forgotten when later elements are close");
        float[] inf = perturbed(-1, 0);
        inf[0] = Float.POSITIVE_INFINITY;
        assertFalse(SmokeCheck.compare("gemm", inf, WANT, 72, SmokeCheck.TF32).passed());
        assertFalse(SmokeCheck.compare("gemm", new float[3], WANT, 72, SmokeCheck.TF32).passed());
    }

    @Test
    void anAllZeroReferenceUsesScaleOne() {
        SmokeCheck c = SmokeCheck.compare("relu", new float[] {0, 1e-5f}, new double[] {0, 0}, 1, SmokeCheck.FP32);
        assertEquals(1.0, c.scale());
        assertFalse(c.passed(), "1e-5 > 32 * 2^-24 = 1.9e-6: " + c.describe());
    }
}
