package dev.graft.loaders.images;

/**
 * Separable bilinear resampling with antialiasing when shrinking: the triangle filter's support widens by the
 * scale factor, as PIL's BILINEAR filter does (torchvision's Resize on PIL images), so downscaled X-rays keep
 * their fine detail averaged rather than aliased.
 */
final class Resampler {
    /** 2^26 floats (256 MiB): the largest image a resize may make, so an extremely elongated input is refused. */
    static final long MAX_RESIZED_VALUES = 1L << 26;

    private Resampler() {
    }

    /** Resizes the region [top, top+h) x [left, left+w) of {@code in} to outH x outW. */
    static FloatImage resize(FloatImage in, int top, int left, int h, int w, int outH, int outW) {
        Coefficients cx = Coefficients.of(left, w, outW);
        Coefficients cy = Coefficients.of(top, h, outH);
        int c = in.channels();
        float[] tmp = new float[c * h * outW];
        float[] src = in.data();
        // Horizontal pass over the crop's rows.
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                int rowBase = (ch * in.height() + top + y) * in.width();
                for (int x = 0; x < outW; x++) {
                    double acc = 0;
                    int start = cx.start[x];
                    for (int k = 0; k < cx.count[x]; k++) {
                        acc += src[rowBase + start + k] * cx.weights[x][k];
                    }
                    tmp[(ch * h + y) * outW + x] = (float) acc;
                }
            }
        }
        float[] out = new float[c * outH * outW];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < outH; y++) {
                int start = cy.start[y] - top;
                for (int x = 0; x < outW; x++) {
                    double acc = 0;
                    for (int k = 0; k < cy.count[y]; k++) {
                        acc += tmp[(ch * h + start + k) * outW + x] * cy.weights[y][k];
                    }
                    out[(ch * outH + y) * outW + x] = (float) acc;
                }
            }
        }
        return new FloatImage(c, outH, outW, out);
    }

    /** Per output pixel: first source index (absolute) and normalised weights. */
    private record Coefficients(int[] start, int[] count, double[][] weights) {
        static Coefficients of(int offset, int inSize, int outSize) {
            double scale = inSize / (double) outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filterScale; // the triangle filter has support 1
            int[] start = new int[outSize];
            int[] count = new int[outSize];
            double[][] weights = new double[outSize][];
            for (int i = 0; i < outSize; i++) {
                double center = (i + 0.5) * scale;
                int lo = Math.max(0, (int) Math.floor(center - support + 0.5));
                int hi = Math.min(inSize, (int) Math.floor(center + support + 0.5));
                if (hi <= lo) {
                    hi = Math.min(inSize, lo + 1);
                    lo = hi - 1;
                }
                double[] w = new double[hi - lo];
                double total = 0;
                for (int j = lo; j < hi; j++) {
                    double t = Math.abs((j - center + 0.5) / filterScale);
                    w[j - lo] = t < 1 ? 1 - t : 0;
                    total += w[j - lo];
                }
                if (total <= 0) {
                    java.util.Arrays.fill(w, 1.0 / w.length);
                } else {
                    for (int k = 0; k < w.length; k++) {
                        w[k] /= total;
                    }
                }
                start[i] = offset + lo;
                count[i] = w.length;
                weights[i] = w;
            }
            return new Coefficients(start, count, weights);
        }
    }
}
