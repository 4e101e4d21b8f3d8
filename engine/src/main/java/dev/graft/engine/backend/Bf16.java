package dev.graft.engine.backend;

/**
 * bfloat16 rounding as the bf16 precision mode defines it: a float keeps its sign, its 8 exponent bits and the top 7
 * of its 23 mantissa bits, rounded to nearest with ties to even (what oneDNN's and the x86 {@code vcvtneps2bf16}
 * conversion do). The result is returned as the float it represents, so kernels can keep computing in F32/F64.
 */
public final class Bf16 {
    private Bf16() {
    }

    /** {@code x} rounded to the nearest bfloat16 (ties to even); NaN stays NaN, infinities stay, overflow gives infinity. */
    public static float round(float x) {
        if (Float.isNaN(x)) {
            return x;
        }
        int bits = Float.floatToRawIntBits(x);
        int lsb = (bits >>> 16) & 1;
        bits += 0x7FFF + lsb;
        return Float.intBitsToFloat(bits & 0xFFFF0000);
    }

    /** {@code x} (a float value held in a double) rounded to the nearest bfloat16 via F32, as an F32 operand is. */
    public static double round(double x) {
        return round((float) x);
    }

    /** A copy of {@code v} with every element rounded by {@link #round(double)}. */
    public static double[] round(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = round(v[i]);
        }
        return r;
    }
}
