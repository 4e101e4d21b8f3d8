package dev.graft.loaders.images;

import java.util.random.RandomGenerator;

/** Geometry helpers behind the crop, flip and rotation transforms. */
final class Crops {
    private Crops() {
    }

    /** Center crop with zero padding when the image is smaller; positions round half to even, as Python's round(). */
    static FloatImage center(FloatImage img, int ch, int cw) {
        int top = (int) Math.rint((img.height() - ch) / 2.0);
        int left = (int) Math.rint((img.width() - cw) / 2.0);
        FloatImage out = FloatImage.blank(img.channels(), ch, cw);
        for (int c = 0; c < img.channels(); c++) {
            for (int y = 0; y < ch; y++) {
                int sy = y + top;
                if (sy < 0 || sy >= img.height()) {
                    continue;
                }
                for (int x = 0; x < cw; x++) {
                    int sx = x + left;
                    if (sx >= 0 && sx < img.width()) {
                        out.set(c, y, x, img.get(c, sy, sx));
                    }
                }
            }
        }
        return out;
    }

    static FloatImage flip(FloatImage img) {
        FloatImage out = FloatImage.blank(img.channels(), img.height(), img.width());
        for (int c = 0; c < img.channels(); c++) {
            for (int y = 0; y < img.height(); y++) {
                for (int x = 0; x < img.width(); x++) {
                    out.set(c, y, img.width() - 1 - x, img.get(c, y, x));
                }
            }
        }
        return out;
    }

    /** Rotation about the image centre by {@code radians} (counter-clockwise), bilinear, zero outside. */
    static FloatImage rotate(FloatImage img, double radians) {
        int h = img.height(), w = img.width();
        double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
        double cos = Math.cos(radians), sin = Math.sin(radians);
        FloatImage out = FloatImage.blank(img.channels(), h, w);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                // Inverse mapping: where in the source does this output pixel come from?
                double dx = x - cx, dy = y - cy;
                double sx = cos * dx - sin * dy + cx;
                double sy = sin * dx + cos * dy + cy;
                int x0 = (int) Math.floor(sx), y0 = (int) Math.floor(sy);
                double fx = sx - x0, fy = sy - y0;
                for (int c = 0; c < img.channels(); c++) {
                    double v = sample(img, c, y0, x0) * (1 - fx) * (1 - fy) + sample(img, c, y0, x0 + 1) * fx * (1 - fy)
                            + sample(img, c, y0 + 1, x0) * (1 - fx) * fy + sample(img, c, y0 + 1, x0 + 1) * fx * fy;
                    out.set(c, y, x, (float) v);
                }
            }
        }
        return out;
    }

    private static double sample(FloatImage img, int c, int y, int x) {
        return y < 0 || y >= img.height() || x < 0 || x >= img.width() ? 0 : img.get(c, y, x);
    }

    /** torchvision's RandomResizedCrop: ten tries at a random area and aspect ratio, else a central crop. */
    record RandomResized(int size, double scaleMin, double ratioMin, double ratioMax) implements Transform {
        @Override
        public FloatImage apply(FloatImage img, RandomGenerator rng) {
            int h = img.height(), w = img.width();
            double area = (double) h * w;
            double logMin = Math.log(ratioMin), logMax = Math.log(ratioMax);
            for (int attempt = 0; attempt < 10; attempt++) {
                double target = area * (scaleMin + rng.nextDouble() * (1 - scaleMin));
                double aspect = Math.exp(logMin + rng.nextDouble() * (logMax - logMin));
                int cw = (int) Math.rint(Math.sqrt(target * aspect));
                int ch = (int) Math.rint(Math.sqrt(target / aspect));
                if (cw > 0 && ch > 0 && cw <= w && ch <= h) {
                    int top = rng.nextInt(h - ch + 1);
                    int left = rng.nextInt(w - cw + 1);
                    return Resampler.resize(img, top, left, ch, cw, size, size);
                }
            }
            double inRatio = (double) w / h;
            int cw = w, ch = h;
            if (inRatio < ratioMin) {
                ch = (int) Math.rint(cw / ratioMin);
            } else if (inRatio > ratioMax) {
                cw = (int) Math.rint(ch * ratioMax);
            }
            return Resampler.resize(img, (h - ch) / 2, (w - cw) / 2, ch, cw, size, size);
        }

        @Override
        public boolean isRandom() {
            return true;
        }

        /**
         * A crop covers at least scaleMin of the area at an aspect within [ratioMin, ratioMax], so its shorter side is
         * at least sqrt(scaleMin * min(ratioMin, 1/ratioMax)) of the image's shorter side; that side becomes {@code size}.
         */
        @Override
        public int inputSideNeeded() {
            double shortest = Math.sqrt(scaleMin * Math.min(ratioMin, 1 / ratioMax));
            return (int) Math.min(Integer.MAX_VALUE, Math.ceil(size / shortest));
        }
    }
}
