package dev.graft.loaders.images;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Large images are decoded subsampled to at least twice what the transform needs; the network input then differs
 * from the full decode's only by what point sampling lets through (noise and pixel-scale texture).
 */
class SubsamplingTest {
    @TempDir
    Path dir;

    /**
     * Radiograph-like 8-bit grayscale: broad soft-tissue shading, rib-like bands about 60 pixels apart, a sharp
     * edge, and per-pixel noise of standard deviation 4/255 (film grain, quantum noise).
     */
    static BufferedImage radiograph(int w, int h, double noise, long seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        Random r = new Random(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double dx = (x - w / 2.0) / (w / 3.0);
                double dy = (y - h / 2.0) / (h / 2.5);
                double v = 60 + 120 * Math.exp(-(dx * dx + dy * dy)) + 25 * Math.sin(y / 60.0 * 2 * Math.PI + x / 400.0);
                if (x > w * 0.8) {
                    v += 40; // an edge: a shoulder, a marker
                }
                v += r.nextGaussian() * noise;
                img.getRaster().setSample(x, y, 0, ImageBytes.clamp((int) Math.round(v)));
            }
        }
        return img;
    }

    @Test
    void stepKeepsAtLeastTwiceTheWorkingSide() {
        assertEquals(1, ImageDecoder.subsampling(600, 400, 256), "400 < 2 x 256: no subsampling");
        assertEquals(2, ImageDecoder.subsampling(1600, 1200, 256));
        assertEquals(3, ImageDecoder.subsampling(1800, 1560, 256));
        assertEquals(5, ImageDecoder.subsampling(3000, 2600, 256));
        assertEquals(1, ImageDecoder.subsampling(3000, 2600, 0), "0: every pixel matters");
        assertEquals(1, ImageDecoder.subsampling(1, 600_000, 256));
        assertEquals(39, ImageDecoder.subsampling(20_000, 20_000, 256));
        for (int s = 1; s < 3000; s += 7) {
            for (int need : new int[] {16, 224, 256, 299}) {
                int f = ImageDecoder.subsampling(s + 5, s, need);
                int offset = (f - 1) / 2;
                int decoded = (s - offset + f - 1) / f;
                assertTrue(f == 1 || decoded >= ImageDecoder.DETAIL_MARGIN * need, s + " for " + need + ": step " + f + " leaves " + decoded);
            }
        }
    }

    @Test
    void workingSidesOfThePipelines() {
        assertEquals(256, Preprocessing.imagenet(224).evaluation().inputSideNeeded());
        // Crops of at least 75% of the area at aspect 3/4..4/3 have a side of at least 0.75 of the shorter side.
        assertEquals(299, Preprocessing.imagenet(224).training(Augmentation.DEFAULT).inputSideNeeded());
        assertEquals(256, Preprocessing.imagenet(224).training(Augmentation.NONE).inputSideNeeded());
        assertEquals(0, Transform.compose(List.of(Transform.horizontalFlip(0.5), Transform.resize(256))).inputSideNeeded(),
                "a pipeline not starting with a resampling step needs every pixel");
    }

    /**
     * The evaluation input (resize 256, centre crop 224) from an 1800 x 1560 radiograph decoded with step 3 (600 x 520)
     * against the full decode, in [0, 1] pixel units before normalisation (divide by ImageNet's std, about 0.225, for
     * network units). Measured without noise: max 0.016, mean 0.0004, the max at the sharp edge, which moves by up to
     * half a step (1.5 source pixels, 0.25 output pixels). With noise of std 4/255: max 0.032, mean 0.004, because
     * point sampling passes the noise on unaveraged and the resize then averages fewer samples.
     */
    @Test
    void evaluationInputStaysWithinToleranceOfTheFullDecode() throws IOException {
        double[] clean = difference(0);
        assertTrue(clean[0] < 0.025 && clean[1] < 0.001, "without noise: max " + clean[0] + ", mean " + clean[1]);
        double[] noisy = difference(4);
        assertTrue(noisy[0] < 0.045 && noisy[1] < 0.006, "with noise: max " + noisy[0] + ", mean " + noisy[1]);
    }

    /** Max and mean absolute difference between the subsampled and the full decode's evaluation input. */
    private double[] difference(double noise) throws IOException {
        Path file = dir.resolve("chest.png");
        Files.write(file, ImageBytes.write(radiograph(1800, 1560, noise, 5), "png"));
        Transform resizeCrop = Transform.compose(List.of(Transform.resize(256), Transform.centerCrop(224)));
        FloatImage subsampled = ImageDecoder.read(file, resizeCrop, ImageDecoder.Options.defaults(), w -> { });
        FloatImage full = ImageDecoder.read(file);
        assertEquals(1560, full.height());
        assertEquals(520, subsampled.height(), "step 3");
        assertEquals(600, subsampled.width());
        FloatImage a = resizeCrop.apply(subsampled, null);
        FloatImage b = resizeCrop.apply(full, null);
        double max = 0, sum = 0;
        for (int i = 0; i < a.data().length; i++) {
            double d = Math.abs(a.data()[i] - b.data()[i]);
            max = Math.max(max, d);
            sum += d;
        }
        return new double[] {max, sum / a.data().length};
    }
}
