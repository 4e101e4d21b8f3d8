package dev.graft.loaders.images;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * One image transform, torchvision's names and semantics. Random transforms draw only from the generator they
 * are given, which the loader derives from (seed, epoch, sample), so results do not depend on thread count.
 */
public interface Transform {

    FloatImage apply(FloatImage image, RandomGenerator rng);

    /** True when the output depends on the generator (augmentation): such pipelines cannot be cached. */
    default boolean isRandom() {
        return false;
    }

    /** Applies transforms in order. */
    static Transform compose(List<Transform> steps) {
        List<Transform> copy = List.copyOf(steps);
        return new Transform() {
            @Override
            public FloatImage apply(FloatImage image, RandomGenerator rng) {
                FloatImage out = image;
                for (Transform t : copy) {
                    out = t.apply(out, rng);
                }
                return out;
            }

            @Override
            public boolean isRandom() {
                return copy.stream().anyMatch(Transform::isRandom);
            }
        };
    }

    /** {@code Resize(size)}: the shorter side becomes {@code size}, aspect kept (longer = floor(size*long/short)). */
    static Transform resize(int size) {
        return (img, rng) -> {
            int h = img.height(), w = img.width();
            if (Math.min(h, w) == size) {
                return img;
            }
            int oh = h <= w ? size : (int) ((long) size * h / w);
            int ow = h <= w ? (int) ((long) size * w / h) : size;
            return Resampler.resize(img, 0, 0, h, w, Math.max(1, oh), Math.max(1, ow));
        };
    }

    /** Resize to exactly {@code h x w}. */
    static Transform resize(int h, int w) {
        return (img, rng) -> img.height() == h && img.width() == w ? img : Resampler.resize(img, 0, 0, img.height(), img.width(), h, w);
    }

    /** {@code CenterCrop(size)}; an image smaller than the crop is padded with zeros first, as torchvision does. */
    static Transform centerCrop(int size) {
        return (img, rng) -> Crops.center(img, size, size);
    }

    /** {@code RandomResizedCrop(size, scale=(scaleMin, 1), ratio=(3/4, 4/3))}. */
    static Transform randomResizedCrop(int size, double scaleMin) {
        return new Crops.RandomResized(size, scaleMin, 3.0 / 4.0, 4.0 / 3.0);
    }

    /** {@code RandomHorizontalFlip(p)}. */
    static Transform horizontalFlip(double p) {
        return new Transform() {
            @Override
            public FloatImage apply(FloatImage img, RandomGenerator rng) {
                return rng.nextDouble() < p ? Crops.flip(img) : img;
            }

            @Override
            public boolean isRandom() {
                return true;
            }
        };
    }

    /** {@code RandomRotation(degrees)}: a uniform angle in [-degrees, degrees], bilinear, zero fill. */
    static Transform rotation(double degrees) {
        return new Transform() {
            @Override
            public FloatImage apply(FloatImage img, RandomGenerator rng) {
                double angle = (rng.nextDouble() * 2 - 1) * degrees;
                return Crops.rotate(img, Math.toRadians(angle));
            }

            @Override
            public boolean isRandom() {
                return true;
            }
        };
    }

    /** {@code Normalize(mean, std)} per channel. */
    static Transform normalize(float[] mean, float[] std) {
        float[] m = mean.clone();
        float[] s = std.clone();
        return (img, rng) -> {
            if (img.channels() != m.length) {
                throw new DatasetException("normalize: image has " + img.channels() + " channels but mean/std have " + m.length);
            }
            float[] d = img.data().clone();
            int plane = img.height() * img.width();
            for (int c = 0; c < img.channels(); c++) {
                for (int i = 0; i < plane; i++) {
                    d[c * plane + i] = (d[c * plane + i] - m[c]) / s[c];
                }
            }
            return new FloatImage(img.channels(), img.height(), img.width(), d);
        };
    }
}
