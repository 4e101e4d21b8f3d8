package dev.graft.runtime.example;

import dev.graft.engine.Device;
import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.BlockType;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;

import java.awt.image.BufferedImage;
import java.nio.file.Path;

/** A small two-class model file with the metadata the training pipeline writes, and a grayscale "X-ray". */
final class ExampleFiles {
    private ExampleFiles() {
    }

    static Path model(Path file) {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
        try (ResNet m = ResNet.builder(config).device(Device.REFERENCE).seed(42).build()) {
            StateDict s = m.stateDict();
            s.metadata().putAll(Preprocessing.imagenet(64).toMetadata());
            s.metadata().put("graft.classes", "[\"NORMAL\",\"PNEUMONIA\"]");
            SafeTensors.write(file, s);
        }
        return file;
    }

    static BufferedImage xray() {
        BufferedImage img = new BufferedImage(120, 100, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 100; y++) {
            for (int x = 0; x < 120; x++) {
                int v = (int) (128 + 100 * Math.sin(x / 9.0) * Math.cos(y / 7.0));
                img.getRaster().setSample(x, y, 0, v);
            }
        }
        return img;
    }
}
