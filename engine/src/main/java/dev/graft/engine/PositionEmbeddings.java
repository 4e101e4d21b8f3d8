package dev.graft.engine;

/**
 * Host-side resizing of a ViT position embedding [1, prefix + H*W, C] to another patch grid, for images of another
 * size than the checkpoint's: the prefix tokens (the class token, and DeiT's distillation token) are kept as they
 * are, the grid tokens are seen as a C-channel H x W image and resized with bicubic interpolation exactly as
 * {@code torch.nn.functional.interpolate(mode='bicubic')} does (Keys' cubic kernel with A = -0.75, source
 * indices clamped at the border). torchvision's {@code interpolate_embeddings} uses {@code align_corners=True};
 * timm's {@code resample_abs_pos_embed} uses {@code align_corners=False} (for downsampling newer timm also
 * antialiases, which this does not). No gradient: this runs once when weights are loaded.
 */
public final class PositionEmbeddings {
    private static final double A = -0.75;

    private PositionEmbeddings() {
    }

    /**
     * Resizes a square grid: {@code posEmbed} holds (prefix + g*g) * channels values (row-major [1, T, C]); the result
     * holds (prefix + newGrid^2) * channels.
     */
    public static float[] resizeSquare(float[] posEmbed, int channels, int prefixTokens, int newGrid, boolean alignCorners) {
        if (posEmbed == null || channels < 1 || prefixTokens < 0 || posEmbed.length % channels != 0) {
            throw ShapeException.of("interpolate_embeddings", "position embedding must hold a whole number of " + channels
                    + "-channel tokens", "values", posEmbed == null ? "null" : posEmbed.length);
        }
        int grid = posEmbed.length / channels - prefixTokens;
        int g = (int) Math.round(Math.sqrt(Math.max(grid, 0)));
        if (grid < 1 || g * g != grid) {
            throw ShapeException.of("interpolate_embeddings", "the tokens after the " + prefixTokens
                    + " prefix token(s) must form a square grid", "tokens", posEmbed.length / channels);
        }
        return resize(posEmbed, channels, prefixTokens, g, g, newGrid, newGrid, alignCorners);
    }

    /** As {@link #resizeSquare} for a grid of oldH x oldW tokens resized to newH x newW; float in, float out. */
    public static float[] resize(float[] posEmbed, int channels, int prefixTokens, int oldH, int oldW, int newH, int newW,
                                 boolean alignCorners) {
        double[] d = new double[posEmbed.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = posEmbed[i];
        }
        double[] r = resize(d, channels, prefixTokens, oldH, oldW, newH, newW, alignCorners);
        float[] f = new float[r.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) r[i];
        }
        return f;
    }

    /** The computation, in double: [1, prefix + oldH*oldW, C] to [1, prefix + newH*newW, C]. */
    public static double[] resize(double[] posEmbed, int channels, int prefixTokens, int oldH, int oldW, int newH, int newW,
                                  boolean alignCorners) {
        if (oldH < 1 || oldW < 1 || newH < 1 || newW < 1 || channels < 1 || prefixTokens < 0
                || posEmbed.length != (long) (prefixTokens + oldH * oldW) * channels) {
            throw ShapeException.of("interpolate_embeddings", "needs [1, prefix + H*W, C] values and grids of at least 1x1",
                    "values", posEmbed.length, "grid", oldH + "x" + oldW, "new grid", newH + "x" + newW,
                    "channels", channels, "prefix", prefixTokens);
        }
        double[] out = new double[(prefixTokens + newH * newW) * channels];
        System.arraycopy(posEmbed, 0, out, 0, prefixTokens * channels);
        int base = prefixTokens * channels;
        double sh = scale(oldH, newH, alignCorners);
        double sw = scale(oldW, newW, alignCorners);
        for (int oy = 0; oy < newH; oy++) {
            double ry = source(sh, oy, alignCorners);
            int iy = (int) Math.floor(ry);
            double[] cy = coefficients(ry - iy);
            for (int ox = 0; ox < newW; ox++) {
                double rx = source(sw, ox, alignCorners);
                int ix = (int) Math.floor(rx);
                double[] cx = coefficients(rx - ix);
                for (int c = 0; c < channels; c++) {
                    double v = 0;
                    for (int j = 0; j < 4; j++) {
                        int y = clamp(iy - 1 + j, oldH);
                        double row = 0;
                        for (int i = 0; i < 4; i++) {
                            int x = clamp(ix - 1 + i, oldW);
                            row += cx[i] * posEmbed[base + (y * oldW + x) * channels + c];
                        }
                        v += cy[j] * row;
                    }
                    out[base + (oy * newW + ox) * channels + c] = v;
                }
            }
        }
        return out;
    }

    /** torch's area_pixel_compute_scale without a given scale factor. */
    private static double scale(int in, int out, boolean alignCorners) {
        if (alignCorners) {
            return out > 1 ? (in - 1) / (double) (out - 1) : 0;
        }
        return in / (double) out;
    }

    /** torch's area_pixel_compute_source_index for cubic modes (not clamped at 0). */
    private static double source(double scale, int dst, boolean alignCorners) {
        return alignCorners ? scale * dst : scale * (dst + 0.5) - 0.5;
    }

    private static int clamp(int i, int size) {
        return Math.max(0, Math.min(size - 1, i));
    }

    /** Keys' cubic convolution weights for the 4 taps at offsets -1, 0, 1, 2 from floor(source), t its fraction. */
    private static double[] coefficients(double t) {
        return new double[] {near2(t + 1), near1(t), near1(1 - t), near2(2 - t)};
    }

    /** |x| <= 1: ((A + 2) x - (A + 3)) x^2 + 1. */
    private static double near1(double x) {
        return ((A + 2) * x - (A + 3)) * x * x + 1;
    }

    /** 1 < |x| < 2: ((A x - 5A) x + 8A) x - 4A. */
    private static double near2(double x) {
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    }
}
