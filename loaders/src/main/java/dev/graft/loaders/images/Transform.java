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

    /**
     * The shorter input side, in pixels, that keeps all the detail this transform passes on: a decoder may subsample
     * a larger image towards it ({@link ImageDecoder} keeps at least twice this). 0, the default, means every source
     * pixel matters.
     */
    default int inputSideNeeded() {
        return 0;
    }

    /**
     * Refuses, from the header's size alone and before anything is decoded, an input this transform cannot process
     * (a {@link DatasetException} saying why); the default accepts every size.
     */
    default void checkInput(int height, int width) {
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

            // The first step sees the decoded image; the ones after it see what it made.
            @Override
            public int inputSideNeeded() {
                return copy.isEmpty() ? 0 : copy.get(0).inputSideNeeded();
            }

            @Override
            public void checkInput(int height, int width) {
                if (!copy.isEmpty()) {
                    copy.get(0).checkInput(height, width);
                }
            }
        };
    }

    /**
     * {@code Resize(size)}: the shorter side becomes {@code size}, aspect kept (longer = floor(size*long/short)). An
     * image so elongated that the result would pass {@link Resampler#MAX_RESIZED_VALUES} values is refused.
     */
    static Transform resize(int size) {
        return new Transform() {
            @Override
            public FloatImage apply(FloatImage img, RandomGenerator rng) {
                int h = img.height(), w = img.width();
                if (Math.min(h, w) == size) {
                    return img;
                }
                checkInput(h, w);
                int oh = h <= w ? size : (int) ((long) size * h / w);
                int ow = h <= w ? (int) ((long) size * w / h) : size;
                return Resampler.resize(img, 0, 0, h, w, Math.max(1, oh), Math.max(1, ow));
            }

            @Override
            public int inputSideNeeded() {
                return size;
            }

            @Override
            public void checkInput(int h, int w) {
                long longer = (long) size * Math.max(h, w) / Math.max(1, Math.min(h, w));
                if (3 * longer * size > Resampler.MAX_RESIZED_VALUES) {
                    throw new DatasetException("a " + w + " x " + h + " image is too elongated to resize: its shorter side at " + size
                            + " pixels makes the longer one " + longer + " pixels (at most " + Resampler.MAX_RESIZED_VALUES / (3L * size)
                            + "); crop it to a less elongated shape first");
                }
            }
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
