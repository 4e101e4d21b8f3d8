package dev.graft.engine.backend.cpu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The branch-free mask of relu's backward selects exactly where torch's threshold_backward passes the gradient,
 * {@code !(y <= 0)} (y > 0, or y NaN of either sign), for every kind of float.
 */
class PassMaskTest {
    private static void check(int bits) {
        float y = Float.intBitsToFloat(bits);
        assertEquals(!(y <= 0) ? -1 : 0, CpuElementwise.passMask(y), () -> "y = " + y + " (bits " + Integer.toHexString(bits) + ")");
    }

    @Test
    void specialValues() {
        for (float y : new float[] {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1f, -1f}) {
            check(Float.floatToRawIntBits(y));
        }
        for (int bits : new int[] {0x7f800001, 0x7fc00000, 0x7fffffff, 0xff800001, 0xffc00000, 0xffffffff, 0x80000000, 0x00000001}) {
            check(bits); // NaNs of both signs with various payloads, -0, the smallest subnormal
        }
    }

    @Test
    void everyFloatOnAStride() {
        for (long bits = Integer.MIN_VALUE; bits <= Integer.MAX_VALUE; bits += 1021) {
            check((int) bits);
        }
    }
}
