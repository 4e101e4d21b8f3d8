package dev.graft.demo;

import dev.graft.loaders.images.DatasetException;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Writes chosen Fashion-MNIST images as 8-bit grayscale PNGs in ImageFolder layout (root/CLASS/NNNNN.png). */
public final class DemoData {
    private DemoData() {
    }

    /**
     * Exports {@code perClass[k]} images of source class {@code sourceClasses[k]} under folder name
     * {@code names[k]}, chosen by a seeded shuffle; {@code skip[k]} images of each class are passed over first
     * (so disjoint subsets can be cut from one split).
     */
    public static void export(FashionMnist set, int[] sourceClasses, String[] names, int[] skip, int[] perClass, Path root, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] order = new int[set.labels().length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        for (int i = order.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < sourceClasses.length; k++) {
            List<Integer> picked = new ArrayList<>();
            int passed = 0;
            for (int i : order) {
                if (set.labels()[i] != sourceClasses[k]) {
                    continue;
                }
                if (passed++ < skip[k]) {
                    continue;
                }
                picked.add(i);
                if (picked.size() == perClass[k]) {
                    break;
                }
            }
            if (picked.size() < perClass[k]) {
                throw new DatasetException("Fashion-MNIST has only " + picked.size() + " images of class " + sourceClasses[k] + " left");
            }
            Path dir = root.resolve(names[k]);
            try {
                Files.createDirectories(dir);
                for (int i : picked) {
                    BufferedImage img = new BufferedImage(FashionMnist.SIDE, FashionMnist.SIDE, BufferedImage.TYPE_BYTE_GRAY);
                    img.getRaster().setDataElements(0, 0, FashionMnist.SIDE, FashionMnist.SIDE, set.images()[i]);
                    ImageIO.write(img, "png", dir.resolve(String.format("%05d.png", i)).toFile());
                }
            } catch (IOException e) {
                throw new DatasetException("cannot write demo images to " + dir + ": " + e.getMessage(), e);
            }
        }
    }
}
