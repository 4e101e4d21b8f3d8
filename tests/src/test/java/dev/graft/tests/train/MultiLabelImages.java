package dev.graft.tests.train;

import dev.graft.loaders.labels.LabeledImage;
import dev.graft.loaders.labels.LabeledSet;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A small generated multi-label set, learnable in a few epochs: 16x16 grayscale noise with a bright 6x6 square in the
 * top-left quadrant ("top"), one in the bottom-right quadrant ("bottom"), both, or neither; a third label "never" is
 * negative everywhere (no AUC: it must show as n/a). About a tenth of the targets are unknown (NaN).
 */
final class MultiLabelImages {
    static final List<String> LABELS = List.of("top", "bottom", "never");

    private MultiLabelImages() {
    }

    static LabeledSet set(Path dir, long seed, int count) throws IOException {
        Files.createDirectories(dir);
        Random r = new Random(seed);
        List<LabeledImage> images = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            boolean top = r.nextBoolean();
            boolean bottom = r.nextBoolean();
            BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < 16; y++) {
                for (int x = 0; x < 16; x++) {
                    boolean inTop = top && x >= 1 && x < 7 && y >= 1 && y < 7;
                    boolean inBottom = bottom && x >= 9 && x < 15 && y >= 9 && y < 15;
                    int v = (inTop || inBottom ? 210 : 60) + (int) (r.nextGaussian() * 25);
                    img.getRaster().setSample(x, y, 0, Math.max(0, Math.min(255, v)));
                }
            }
            Path file = dir.resolve(String.format("%03d.png", i));
            ImageIO.write(img, "png", file.toFile());
            float[] t = {top ? 1 : 0, bottom ? 1 : 0, 0};
            for (int j = 0; j < t.length; j++) {
                if (r.nextDouble() < 0.1) {
                    t[j] = Float.NaN;
                }
            }
            images.add(new LabeledImage(file, t, "patient" + i, dir.getFileName() + " image " + i));
        }
        return new LabeledSet(LABELS, images, "generated set " + dir.getFileName());
    }
}
