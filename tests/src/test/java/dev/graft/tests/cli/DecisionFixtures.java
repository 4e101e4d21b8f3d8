package dev.graft.tests.cli;

import dev.graft.engine.Device;
import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.BlockType;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Model files and images for the decision-rule tests: a narrow two-class ResNet-10 with torchvision's random
 * initialisation, saved as safetensors with the metadata 'graft train' writes (architecture, class names
 * normal/pneumonia, preprocessing at 32x32) plus whatever decision metadata a test gives; and small RGB PNGs.
 */
final class DecisionFixtures {
    static final ResNetConfig TINY =
            ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
    static final List<String> CLASSES = List.of("normal", "pneumonia");
    static final String CLASSES_JSON = "[\"normal\",\"pneumonia\"]";

    private DecisionFixtures() {
    }

    /** {@link #TINY} with seed {@code seed}, class names, 32x32 preprocessing and {@code decision} metadata. */
    static Path model(Path file, long seed, Map<String, String> decision) {
        return model(file, seed, decision, m -> { });
    }

    /** As {@link #model(Path, long, Map)}, with {@code edit} applied to the network before it is saved. */
    static Path model(Path file, long seed, Map<String, String> decision, java.util.function.Consumer<ResNet> edit) {
        try (ResNet m = ResNet.builder(TINY).device(Device.REFERENCE).seed(seed).build()) {
            edit.accept(m);
            StateDict state = m.stateDict();
            state.metadata().putAll(m.metadata());
            state.metadata().putAll(Preprocessing.imagenet(32).toMetadata());
            state.metadata().put("graft.classes", CLASSES_JSON);
            state.metadata().putAll(decision);
            SafeTensors.write(file, state);
        }
        return file;
    }

    /** {@code n} RGB PNGs of smooth random stripes and noise, 40x30 (so resize and crop matter), in {@code dir}. */
    static List<Path> images(Path dir, int n) {
        List<Path> out = new ArrayList<>();
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < n; i++) {
                SplittableRandom r = new SplittableRandom(100 + i);
                BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
                double fx = 1 + r.nextDouble() * 8;
                double fy = 1 + r.nextDouble() * 8;
                double phase = r.nextDouble() * 6;
                for (int y = 0; y < 30; y++) {
                    for (int x = 0; x < 40; x++) {
                        int red = (int) (127.5 + 127.5 * Math.sin(fx * x / 40 + phase));
                        int green = (int) (127.5 + 127.5 * Math.cos(fy * y / 30 - phase));
                        img.setRGB(x, y, (red << 16) | (green << 8) | r.nextInt(256));
                    }
                }
                Path f = dir.resolve(String.format("img%02d.png", i));
                ImageIO.write(img, "png", f.toFile());
                out.add(f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
