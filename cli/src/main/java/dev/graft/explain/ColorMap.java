package dev.graft.explain;

/**
 * The "jet" colour map (MATLAB's, the one OpenCV's COLORMAP_JET and most Grad-CAM pictures use) as its
 * piecewise-linear definition: dark blue at 0, through blue, cyan, yellow and red, to dark red at 1. Each channel
 * is a tent of height 1.5 clipped to [0, 1]: red = clip(1.5 - |4v - 3|), green = clip(1.5 - |4v - 2|),
 * blue = clip(1.5 - |4v - 1|).
 */
public final class ColorMap {
    private ColorMap() {
    }

    /** Red, green and blue in [0, 1] for {@code v} (clipped to [0, 1]; NaN is taken as 0). */
    public static float[] jet(double v) {
        double x = Double.isNaN(v) ? 0 : Math.min(1, Math.max(0, v));
        return new float[] {tent(4 * x - 3), tent(4 * x - 2), tent(4 * x - 1)};
    }

    /** {@link #jet} as a packed 0xRRGGBB. */
    public static int jetRgb(double v) {
        float[] c = jet(v);
        return (byte8(c[0]) << 16) | (byte8(c[1]) << 8) | byte8(c[2]);
    }

    static int byte8(double v) {
        return (int) Math.round(Math.min(1, Math.max(0, v)) * 255);
    }

    private static float tent(double d) {
        return (float) Math.min(1, Math.max(0, 1.5 - Math.abs(d)));
    }
}
