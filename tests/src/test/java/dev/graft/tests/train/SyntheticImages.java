package dev.graft.tests.train;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Small labelled image folders whose classes differ by stripe orientation (learnable in a few epochs), plus noise. */
final class SyntheticImages {
    private SyntheticImages() {
    }

    /** {@code root/<class name>/NNN.png}: class 0 "horizontal" stripes, class 1 "vertical", 12x12 grayscale. */
    static Path folder(Path root, long seed, int... counts) throws IOException {
        String[] names = {"horizontal", "vertical", "diagonal"};
        Random r = new Random(seed);
        for (int c = 0; c < counts.length; c++) {
            Path dir = Files.createDirectories(root.resolve(names[c]));
            for (int i = 0; i < counts[c]; i++) {
                BufferedImage img = new BufferedImage(12, 12, BufferedImage.TYPE_BYTE_GRAY);
                int phase = r.nextInt(4);
                for (int y = 0; y < 12; y++) {
                    for (int x = 0; x < 12; x++) {
                        int coord = c == 0 ? y : c == 1 ? x : x + y;
                        int v = ((coord + phase) / 2) % 2 == 0 ? 200 : 50;
                        v += (int) (r.nextGaussian() * 40);
                        img.getRaster().setSample(x, y, 0, Math.max(0, Math.min(255, v)));
                    }
                }
                ImageIO.write(img, "png", dir.resolve(String.format("%03d.png", i)).toFile());
            }
        }
        return root;
    }
}
