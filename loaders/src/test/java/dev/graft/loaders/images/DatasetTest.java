package dev.graft.loaders.images;

import dev.graft.loaders.images.ImageFolder.Sample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DatasetTest {

    /** Writes class folders with {@code counts[c]} 12x10 grayscale PNGs whose pixels encode (class, index). */
    static Path folder(Path root, int... counts) throws IOException {
        for (int c = 0; c < counts.length; c++) {
            Path dir = Files.createDirectories(root.resolve("class" + c));
            for (int i = 0; i < counts[c]; i++) {
                BufferedImage img = new BufferedImage(12, 10, BufferedImage.TYPE_BYTE_GRAY);
                for (int y = 0; y < 10; y++) {
                    for (int x = 0; x < 12; x++) {
                        img.getRaster().setSample(x, y, 0, (c * 50 + i * 7 + x * y) % 256);
                    }
                }
                ImageIO.write(img, "png", dir.resolve(String.format("img%03d.png", i)).toFile());
            }
        }
        return root;
    }

    @Test
    void scanFindsSortedClassesAndRejectsEmptyOnes(@TempDir Path dir) throws IOException {
        ImageFolder f = ImageFolder.scan(folder(dir.resolve("ok"), 3, 2));
        assertEquals(List.of("class0", "class1"), f.classes());
        assertArrayEquals(new int[] {3, 2}, f.classCounts());
        Files.createDirectories(dir.resolve("ok/zz_empty"));
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFolder.scan(dir.resolve("ok")));
        assertTrue(e.getMessage().contains("zz_empty"), e.getMessage());
        assertThrows(DatasetException.class, () -> ImageFolder.scan(dir.resolve("nothing")));
        Files.createDirectories(dir.resolve("flat"));
        Files.writeString(dir.resolve("flat/a.txt"), "x");
        assertThrows(DatasetException.class, () -> ImageFolder.scan(dir.resolve("flat")));
    }

    @Test
    void stratifiedSplitKeepsBalanceAndIsSeeded(@TempDir Path dir) throws IOException {
        ImageFolder f = ImageFolder.scan(folder(dir, 30, 10));
        Sampling.Split a = Sampling.stratified(f.samples(), 2, 0.2, 5);
        Sampling.Split b = Sampling.stratified(f.samples(), 2, 0.2, 5);
        assertEquals(a, b);
        assertArrayEquals(new int[] {6, 2}, ImageFolder.countLabels(a.validation(), 2));
        assertArrayEquals(new int[] {24, 8}, ImageFolder.countLabels(a.train(), 2));
        assertTrue(a.train().stream().noneMatch(a.validation()::contains));
    }

    @Test
    void weightedSamplingBalancesClasses() {
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < 900; i++) {
            samples.add(new Sample(Path.of("a" + i), 0));
        }
        for (int i = 0; i < 100; i++) {
            samples.add(new Sample(Path.of("b" + i), 1));
        }
        int minority = 0;
        int draws = 0;
        for (int epoch = 0; epoch < 5; epoch++) {
            for (int idx : Sampling.epochOrder(Sampling.Order.WEIGHTED, samples, 2, 11, epoch)) {
                minority += samples.get(idx).label();
                draws++;
            }
        }
        // Expected share 0.5; 5000 draws give a standard deviation of about 0.007.
        assertEquals(0.5, minority / (double) draws, 0.03);
    }

    @Test
    void batchesAreIdenticalWhateverTheThreadCount(@TempDir Path dir) throws IOException {
        ImageFolder f = ImageFolder.scan(folder(dir, 9, 8));
        Preprocessing pre = new Preprocessing(8, 9, Preprocessing.IMAGENET_MEAN, Preprocessing.IMAGENET_STD);
        Transform train = pre.training(Augmentation.DEFAULT);
        List<float[]> one = collect(f, train, 1, 1);
        List<float[]> four = collect(f, train, 4, 3);
        assertEquals(one.size(), four.size());
        for (int i = 0; i < one.size(); i++) {
            assertArrayEquals(one.get(i), four.get(i));
        }
    }

    private static List<float[]> collect(ImageFolder f, Transform t, int workers, int prefetch) {
        List<float[]> out = new ArrayList<>();
        var opts = new DataLoader.Options(5, Sampling.Order.SHUFFLE, 42, workers, prefetch, false, false);
        try (DataLoader dl = new DataLoader(f.samples(), 2, t, opts, w -> { })) {
            for (int epoch = 0; epoch < 2; epoch++) {
                Iterator<Batch> it = dl.epoch(epoch);
                while (it.hasNext()) {
                    Batch b = it.next();
                    assertArrayEquals(new int[] {b.size(), 3, 8, 8}, b.shape());
                    out.add(b.images());
                }
            }
        }
        return out;
    }

    @Test
    void corruptImageIsSkippedWithWarningOrFailsWhenStrict(@TempDir Path dir) throws IOException {
        folder(dir, 3, 3);
        Files.write(dir.resolve("class1/broken.png"), new byte[] {1, 2, 3});
        ImageFolder f = ImageFolder.scan(dir);
        Transform t = Preprocessing.imagenet(8).evaluation();
        List<String> warnings = new ArrayList<>();
        int seen = 0;
        try (DataLoader dl = new DataLoader(f.samples(), 2, t,
                new DataLoader.Options(4, Sampling.Order.SEQUENTIAL, 1, 2, 2, false, false), warnings::add)) {
            for (Iterator<Batch> it = dl.epoch(0); it.hasNext(); ) {
                seen += it.next().size();
            }
        }
        assertEquals(6, seen);
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("broken.png"), warnings.get(0));
        try (DataLoader dl = new DataLoader(f.samples(), 2, t,
                new DataLoader.Options(4, Sampling.Order.SEQUENTIAL, 1, 2, 2, false, true), w -> { })) {
            Iterator<Batch> it = dl.epoch(0);
            DatasetException e = assertThrows(DatasetException.class, () -> {
                while (it.hasNext()) {
                    it.next();
                }
            });
            assertTrue(e.getMessage().contains("broken.png"));
        }
    }
}
