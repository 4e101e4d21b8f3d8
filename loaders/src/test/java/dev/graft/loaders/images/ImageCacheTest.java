package dev.graft.loaders.images;

import dev.graft.loaders.images.ImageFolder.Sample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The decoded-image cache: keys, disk entries, budget, and that transforms see (nearly) the pixels they saw without it. */
class ImageCacheTest {
    private static final ImageDecoder.Options DECODING = ImageDecoder.Options.defaults();
    private static final Preprocessing PRE = Preprocessing.imagenet(224);

    /** A decoder that counts its calls: the seam that shows which reads decoded. */
    private static final class Counting implements ImageCache.Decoder {
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public FloatImage read(Path file, Transform next, ImageDecoder.Options options, java.util.function.Consumer<String> warnings) {
            calls.incrementAndGet();
            return ImageDecoder.read(file, next, options, warnings);
        }
    }

    /**
     * An X-ray-like picture: a smooth vertical and horizontal shading, two soft ellipses ("lungs"), a bright bar
     * ("spine") and mild seeded noise. {@code gray}: one 8-bit channel (as most chest X-ray JPEGs), else RGB.
     */
    static BufferedImage picture(int w, int h, long seed, boolean gray) {
        BufferedImage img = new BufferedImage(w, h, gray ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        SplittableRandom rng = new SplittableRandom(seed);
        double phase = rng.nextDouble() * 6;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double u = x / (double) w, v = y / (double) h;
                double val = 0.35 + 0.25 * Math.sin(3 * u + phase) * Math.cos(2 * v);
                double l = Math.pow((u - 0.3) / 0.16, 2) + Math.pow((v - 0.5) / 0.3, 2);
                double r = Math.pow((u - 0.7) / 0.16, 2) + Math.pow((v - 0.5) / 0.3, 2);
                val -= 0.2 * Math.exp(-l * l) + 0.2 * Math.exp(-r * r);
                val += Math.abs(u - 0.5) < 0.04 ? 0.3 : 0;
                val += 0.03 * (rng.nextDouble() - 0.5);
                int g = (int) Math.max(0, Math.min(255, Math.round(val * 255)));
                if (gray) {
                    img.getRaster().setSample(x, y, 0, g);
                } else {
                    img.setRGB(x, y, (g << 16) | (Math.min(255, g + 20) << 8) | Math.max(0, g - 20));
                }
            }
        }
        return img;
    }

    static Path write(Path dir, String name, BufferedImage img) throws IOException {
        Files.createDirectories(dir);
        Path p = dir.resolve(name);
        ImageIO.write(img, name.endsWith(".png") ? "png" : "jpeg", p.toFile());
        return p;
    }

    private static float maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static double meanAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += Math.abs(a[i] - b[i]);
        }
        return s / a.length;
    }

    // ---- equivalence ------------------------------------------------------------------------------------------

    /**
     * Evaluation (Resize 256, CenterCrop 224, Normalize) of a 1400 x 1100 JPEG with and without the cache, on the
     * read that fills the cache and on the one that hits it. The cache's resize is the pipeline's own first step, so
     * the only difference is the 16-bit storage: at most 0.5/65535 per value before normalising (bilinear weights are
     * non-negative and sum to 1, so resize and crop add nothing), divided by the smallest std (0.224), plus float
     * rounding of the division by 65535 (1e-7).
     */
    @Test
    void evaluationTensorsAgreeWithAndWithoutTheCache(@TempDir Path dir) throws IOException {
        float tol = (0.5f / 65535f + 1e-7f) / 0.224f;
        for (boolean gray : new boolean[] {true, false}) {
            Path f = write(dir, gray ? "gray.jpeg" : "rgb.jpeg", picture(1400, 1100, 3, gray));
            ImagePipeline plain = new ImagePipeline(PRE.evaluation(), DECODING, w -> { });
            ImageCache cache = new ImageCache(ImageCache.Mode.MEMORY, 1L << 30, null, w -> { });
            ImagePipeline cached = new ImagePipeline(PRE.evaluation(), DECODING, w -> { }, cache);
            float[] expected = plain.load(f, null).data();
            float[] first = cached.load(f, null).data();
            float[] second = cached.load(f, null).data();
            assertArrayEquals(first, second, "a hit gives what the miss gave");
            assertTrue(maxAbsDiff(expected, first) <= tol, "gray " + gray + ": " + maxAbsDiff(expected, first) + " > " + tol);
            assertEquals(1, cache.stats().decodes());
            assertEquals(1, cache.stats().memoryHits());
        }
    }

    /**
     * An image no larger than the working resolution is kept as decoded, and 8-bit values k/255 come back from the
     * 16-bit storage exactly (k * 257 / 65535 is k/255, and both are correctly rounded): the training transform then
     * gives the same tensor bit for bit, with or without the cache, for the same generator.
     */
    @Test
    void smallImagesAreBitIdenticalWithTheCache(@TempDir Path dir) throws IOException {
        Path f = write(dir, "small.png", picture(260, 240, 5, false));
        Transform train = PRE.training(Augmentation.DEFAULT);
        ImageCache cache = new ImageCache(ImageCache.Mode.MEMORY, 1L << 30, null, w -> { });
        ImagePipeline plain = new ImagePipeline(train, DECODING, w -> { });
        ImagePipeline cached = new ImagePipeline(train, DECODING, w -> { }, cache);
        for (int seed = 0; seed < 3; seed++) {
            assertArrayEquals(plain.load(f, new SplittableRandom(seed)).data(), cached.load(f, new SplittableRandom(seed)).data());
        }
        assertArrayEquals(new ImagePipeline(PRE.evaluation(), DECODING, w -> { }).load(f, null).data(),
                new ImagePipeline(PRE.evaluation(), DECODING, w -> { }, cache).load(f, null).data());
    }

    /**
     * RandomResizedCrop(224, scale 0.75..1) draws its crop on the image reduced to 299 on the shorter side rather than
     * on the full decode. The same relative crop box, resampled to 224 from the full 1100-pixel decode in one step and
     * from the 299-pixel working image, differs by the extra resampling only: on this X-ray-like picture the mean
     * absolute difference is below 0.003 of the [0, 1] range (one 8-bit grey level is 0.0039) and the largest below
     * 0.05 (at the sharp bar edges); measured 0.0010 and 0.027 when written.
     */
    @Test
    void presizedCropsDifferFromFullResolutionCropsOnlyByResampling(@TempDir Path dir) throws IOException {
        Path f = write(dir, "big.jpeg", picture(1400, 1100, 7, true));
        Transform train = PRE.training(Augmentation.DEFAULT);
        int side = train.inputSideNeeded();
        assertEquals(299, side, "ceil(224 / sqrt(0.75 * 3/4))");
        FloatImage full = ImageDecoder.read(f, train, DECODING, w -> { });
        FloatImage small = ImageCache.presize(full, side);
        assertEquals(side, Math.min(small.height(), small.width()));
        double[][] boxes = {{0, 0, 1, 1}, {0.05, 0.1, 0.9, 0.85}, {0.12, 0.0, 0.88, 0.8}, {0.0, 0.2, 0.75, 0.8}};
        double worstMean = 0, worstMax = 0;
        for (double[] b : boxes) {
            FloatImage a = crop(full, b);
            FloatImage c = crop(small, b);
            worstMean = Math.max(worstMean, meanAbsDiff(a.data(), c.data()));
            worstMax = Math.max(worstMax, maxAbsDiff(a.data(), c.data()));
        }
        System.out.printf("full-resolution vs presized crops: mean |diff| %.5f, max %.5f%n", worstMean, worstMax);
        assertTrue(worstMean < 0.003, "mean " + worstMean);
        assertTrue(worstMax < 0.05, "max " + worstMax);
    }

    private static FloatImage crop(FloatImage img, double[] box) {
        int top = (int) Math.round(box[0] * img.height()), left = (int) Math.round(box[1] * img.width());
        int h = (int) Math.round((box[2] - box[0]) * img.height()), w = (int) Math.round((box[3] - box[1]) * img.width());
        return Resampler.resize(img, top, left, h, w, 224, 224);
    }

    /**
     * The augmented crops' statistics with and without the cache, over 100 independent draws each: the average of
     * the per-crop mean grey level (where the crops land) and of the per-crop standard deviation (how much contrast and
     * detail they keep) agree within 0.01 of the [0, 1] range, several times the draws' own standard error here.
     */
    @Test
    void augmentedCropsHaveTheSameStatisticsWithTheCache(@TempDir Path dir) throws IOException {
        Path f = write(dir, "big.jpeg", picture(1000, 800, 11, true));
        Transform train = Transform.compose(List.of(Transform.randomResizedCrop(224, 0.75), Transform.horizontalFlip(0.5),
                Transform.rotation(10)));
        ImagePipeline plain = new ImagePipeline(train, DECODING, w -> { });
        ImagePipeline cached = new ImagePipeline(train, DECODING, w -> { },
                new ImageCache(ImageCache.Mode.MEMORY, 1L << 30, null, w -> { }));
        int n = 100;
        double[] a = stats(plain, f, n, 1), b = stats(cached, f, n, 1_000_003);
        assertEquals(a[0], b[0], 0.01, "average crop mean");
        assertEquals(a[1], b[1], 0.01, "average crop std");
    }

    /** {mean of the crop means, mean of the crop standard deviations}. */
    private static double[] stats(ImagePipeline p, Path f, int n, long seed) {
        double means = 0, stds = 0;
        for (int i = 0; i < n; i++) {
            float[] d = p.load(f, new SplittableRandom(seed + i)).data();
            double s = 0, s2 = 0;
            for (float v : d) {
                s += v;
                s2 += v * v;
            }
            double m = s / d.length;
            means += m;
            stds += Math.sqrt(Math.max(0, s2 / d.length - m * m));
        }
        System.out.printf("crop statistics (seed %d): mean %.5f, std %.5f%n", seed, means / n, stds / n);
        return new double[] {means / n, stds / n};
    }

    // ---- the data loader ----------------------------------------------------------------------------------------

    /** Decodes happen in epoch 0 only; epoch 1's augmentation still differs from epoch 0's for every sample. */
    @Test
    void secondEpochDecodesNothingAndAugmentationStillVaries(@TempDir Path dir) throws IOException {
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            samples.add(new Sample(write(dir.resolve("c" + i % 2), "img" + i + ".jpeg", picture(640, 500, i, i % 3 != 0)), i % 2));
        }
        Counting decoder = new Counting();
        ImageCache cache = new ImageCache(ImageCache.Mode.MEMORY, 1L << 30, null, w -> { }, decoder);
        DataLoader.Options opts = new DataLoader.Options(2, Sampling.Order.SHUFFLE, 42, 2, 2, false, true);
        try (DataLoader loader = new DataLoader(samples, 2, PRE.training(Augmentation.DEFAULT), opts, w -> { }, cache)) {
            float[][] e0 = bySample(loader.epoch(0), samples.size());
            assertEquals(6, decoder.calls.get());
            float[][] e1 = bySample(loader.epoch(1), samples.size());
            assertEquals(6, decoder.calls.get(), "epoch 1 decoded");
            for (int i = 0; i < samples.size(); i++) {
                assertFalse(java.util.Arrays.equals(e0[i], e1[i]), "sample " + i + " got the same augmentation twice");
            }
        }
        assertEquals(6, cache.stats().memoryHits());
    }

    private static float[][] bySample(Iterator<Batch> it, int n) {
        float[][] out = new float[n][];
        while (it.hasNext()) {
            Batch b = it.next();
            int per = b.channels() * b.height() * b.width();
            for (int i = 0; i < b.size(); i++) {
                out[b.sampleIndices()[i]] = java.util.Arrays.copyOfRange(b.images(), i * per, (i + 1) * per);
            }
        }
        for (float[] x : out) {
            assertNotNull(x);
        }
        return out;
    }

    // ---- keys ---------------------------------------------------------------------------------------------------

    /** A new modification time, or new contents of another size under the old time, make the next read decode again. */
    @Test
    void touchingOrRewritingTheFileInvalidatesTheEntry(@TempDir Path dir) throws IOException {
        for (ImageCache.Mode mode : new ImageCache.Mode[] {ImageCache.Mode.MEMORY, ImageCache.Mode.DISK}) {
            Path f = write(dir.resolve(mode.name()), "a.png", picture(400, 300, 1, true));
            Counting decoder = new Counting();
            ImageCache cache = new ImageCache(mode, 1L << 30, dir.resolve("cache-" + mode), w -> { }, decoder);
            Transform t = PRE.evaluation();
            float[] before = cache.get(f, t, DECODING, w -> { }).data();
            cache.get(f, t, DECODING, w -> { });
            assertEquals(1, decoder.calls.get(), mode + ": a hit");

            FileTime time = Files.getLastModifiedTime(f);
            Files.setLastModifiedTime(f, FileTime.fromMillis(time.toMillis() + 5000));
            cache.get(f, t, DECODING, w -> { });
            assertEquals(2, decoder.calls.get(), mode + ": touched");

            time = Files.getLastModifiedTime(f);
            long size = Files.size(f);
            write(dir.resolve(mode.name()), "a.png", picture(400, 300, 2, true));
            Files.setLastModifiedTime(f, time);
            assertTrue(Files.size(f) != size, "the rewrite changed the size");
            float[] after = cache.get(f, t, DECODING, w -> { }).data();
            assertEquals(3, decoder.calls.get(), mode + ": rewritten, same time, other size");
            assertFalse(java.util.Arrays.equals(before, after));
            cache.get(f, t, DECODING, w -> { });
            assertEquals(3, decoder.calls.get(), mode + ": the rebuilt entry is used");
        }
    }

    /** One file read for two working resolutions (evaluation 256, training 299) has two entries. */
    @Test
    void theWorkingResolutionIsPartOfTheKey(@TempDir Path dir) throws IOException {
        Path f = write(dir, "a.jpeg", picture(900, 700, 1, true));
        Counting decoder = new Counting();
        ImageCache cache = new ImageCache(ImageCache.Mode.MEMORY, 1L << 30, null, w -> { }, decoder);
        assertEquals(256, Math.min(cache.get(f, PRE.evaluation(), DECODING, w -> { }).height(), 900));
        assertEquals(299, cache.get(f, PRE.training(Augmentation.DEFAULT), DECODING, w -> { }).height());
        cache.get(f, PRE.evaluation(), DECODING, w -> { });
        cache.get(f, PRE.training(Augmentation.DEFAULT), DECODING, w -> { });
        assertEquals(2, decoder.calls.get());
    }

    // ---- disk ---------------------------------------------------------------------------------------------------

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    /**
     * Entries survive the process (a new cache on the same folder decodes nothing), leave no temporary file, and a
     * truncated, bit-flipped or foreign entry is reported, decoded again and rewritten; a leftover temporary file
     * from a killed writer is ignored.
     */
    @Test
    void diskEntriesPersistAndDamagedOnesAreRebuilt(@TempDir Path dir) throws IOException {
        Path f = write(dir.resolve("img"), "a.jpeg", picture(800, 600, 4, true));
        Path cacheDir = dir.resolve("cache");
        Transform t = PRE.training(Augmentation.DEFAULT);
        float[] reference = new ImageCache(ImageCache.Mode.DISK, 0, cacheDir, w -> { }).get(f, t, DECODING, w -> { }).data();
        List<Path> entries = files(cacheDir);
        assertEquals(1, entries.size(), entries.toString());
        Path entry = entries.get(0);
        assertTrue(entry.getFileName().toString().endsWith(".gic"));
        Files.writeString(entry.resolveSibling("." + entry.getFileName() + "123.tmp"), "half an entry from a killed writer");

        Counting decoder = new Counting();
        ImageCache fresh = new ImageCache(ImageCache.Mode.DISK, 0, cacheDir, w -> { }, decoder);
        assertArrayEquals(reference, fresh.get(f, t, DECODING, w -> { }).data());
        assertEquals(0, decoder.calls.get(), "read from disk");

        byte[] good = Files.readAllBytes(entry);
        byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 0x10;
        byte[][] damages = {java.util.Arrays.copyOf(good, good.length / 3), flipped, new byte[0], "not an entry".getBytes()};
        for (byte[] damage : damages) {
            Files.write(entry, damage);
            List<String> warnings = new ArrayList<>();
            Counting d = new Counting();
            ImageCache c = new ImageCache(ImageCache.Mode.DISK, 0, cacheDir, warnings::add, d);
            assertArrayEquals(reference, c.get(f, t, DECODING, w -> { }).data());
            assertEquals(1, d.calls.get());
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.get(0).contains("damaged") && warnings.get(0).contains(f.toString()), warnings.get(0));
            assertArrayEquals(good, Files.readAllBytes(entry), "rewritten whole");
        }
        assertEquals(2, files(cacheDir).size(), "the entry and the killed writer's leftover, no new temporary file");
    }

    /** A cache folder that cannot be created is one warning; images are still returned, decoded each time. */
    @Test
    void anUnwritableCacheFolderIsAWarningNotAFailure(@TempDir Path dir) throws IOException {
        Path f = write(dir, "a.png", picture(300, 300, 1, true));
        Path notADir = Files.writeString(dir.resolve("file"), "x");
        List<String> warnings = new ArrayList<>();
        Counting decoder = new Counting();
        ImageCache cache = new ImageCache(ImageCache.Mode.DISK, 0, notADir.resolve("cache"), warnings::add, decoder);
        for (int i = 0; i < 3; i++) {
            assertNotNull(cache.get(f, PRE.evaluation(), DECODING, w -> { }));
        }
        assertEquals(3, decoder.calls.get());
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("cannot write the image cache"), warnings.get(0));
    }

    // ---- budget -------------------------------------------------------------------------------------------------

    /**
     * AUTO keeps what fits the memory budget in memory and writes the rest to disk; MEMORY alone warns once and
     * decodes the rest every time. Entries of 300 x 400 gray images cost 300 * 400 * 2 bytes plus the overhead.
     */
    @Test
    void aFullMemoryBudgetFallsBackToDisk(@TempDir Path dir) throws IOException {
        List<Path> imgs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            imgs.add(write(dir.resolve("img"), "i" + i + ".png", picture(400, 300, i, true)));
        }
        long entry = 300 * 400 * 2L + ImageCache.ENTRY_OVERHEAD;
        Transform t = Transform.compose(List.of(Transform.resize(300), Transform.centerCrop(224)));

        Counting decoder = new Counting();
        ImageCache auto = new ImageCache(ImageCache.Mode.AUTO, 2 * entry, dir.resolve("cache"), w -> { }, decoder);
        for (int pass = 0; pass < 2; pass++) {
            for (Path p : imgs) {
                auto.get(p, t, DECODING, w -> { });
            }
        }
        ImageCache.Stats s = auto.stats();
        assertEquals(5, decoder.calls.get());
        assertEquals(2, s.memoryEntries());
        assertEquals(2 * entry, s.memoryBytes());
        assertEquals(3, s.diskWrites());
        assertEquals(2, s.memoryHits());
        assertEquals(3, s.diskHits());
        assertEquals(3, files(dir.resolve("cache")).size());

        List<String> warnings = new ArrayList<>();
        Counting d2 = new Counting();
        ImageCache mem = new ImageCache(ImageCache.Mode.MEMORY, 2 * entry, null, warnings::add, d2);
        for (int pass = 0; pass < 2; pass++) {
            for (Path p : imgs) {
                mem.get(p, t, DECODING, w -> { });
            }
        }
        assertEquals(5 + 3, d2.calls.get());
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("memory budget"), warnings.get(0));
    }

    /** A leniently read damaged image is returned but never kept. */
    @Test
    void imagesReadWithWarningsAreNotKept(@TempDir Path dir) throws IOException {
        Path f = write(dir, "a.jpeg", picture(400, 300, 1, true));
        byte[] b = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(b, b.length * 2 / 3));
        Counting decoder = new Counting();
        ImageCache cache = new ImageCache(ImageCache.Mode.AUTO, 1L << 30, dir.resolve("cache"), w -> { }, decoder);
        ImageDecoder.Options lenient = DECODING.withLenient(true);
        List<String> warnings = new ArrayList<>();
        cache.get(f, PRE.evaluation(), lenient, warnings::add);
        cache.get(f, PRE.evaluation(), lenient, warnings::add);
        assertEquals(2, decoder.calls.get());
        assertFalse(warnings.isEmpty());
        assertEquals(0, cache.stats().memoryEntries());
        assertThrows(DatasetException.class, () -> cache.get(f, PRE.evaluation(), DECODING, w -> { }));
    }

    @Test
    void budgetsAndModesParse() {
        assertEquals(512L << 20, ImageCache.parseBudget("512m"));
        assertEquals(2L << 30, ImageCache.parseBudget("2G"));
        assertEquals(1500, ImageCache.parseBudget("1500"));
        assertEquals((long) (Runtime.getRuntime().maxMemory() * 0.25), ImageCache.parseBudget("25%"));
        assertThrows(DatasetException.class, () -> ImageCache.parseBudget("lots"));
        assertThrows(DatasetException.class, () -> ImageCache.parseBudget("150%"));
        assertThrows(DatasetException.class, () -> ImageCache.parseBudget("-1m"));
        assertEquals(ImageCache.Mode.AUTO, ImageCache.Mode.parse("Auto"));
        assertThrows(DatasetException.class, () -> ImageCache.Mode.parse("ram"));
    }
}
