package dev.graft.runtime;

import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.StateDicts;
import dev.graft.models.BlockType;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** What the model file decides: wrapper prefixes on the keys, class names, the threshold rule, the image size. */
class ClassifierLoadingTest {
    private static final ResNetConfig SMALL =
            ResNetConfig.of(BlockType.BOTTLENECK, 1, 1, 1, 1).withWidths(8, 8, 8, 16, 16).withNumClasses(2);

    @TempDir
    Path dir;

    @Test
    void keysWrappedByDataParallelLoadTheSameModel() {
        Path plain = ModelFiles.write(dir.resolve("plain.safetensors"), SMALL, 3, 48, Map.of());
        StateDict wrapped = new StateDict();
        StateDict original = StateDicts.read(plain);
        original.tensors().forEach((k, v) -> wrapped.put("module." + k, v));
        wrapped.metadata().putAll(original.metadata());
        Path prefixed = dir.resolve("wrapped.safetensors");
        SafeTensors.write(prefixed, wrapped);
        BufferedImage img = ModelFiles.image(60, 50, 4);
        try (Classifier a = Classifier.load(plain); Classifier b = Classifier.load(prefixed)) {
            assertArrayEquals(a.classify(img).logits(), b.classify(img).logits());
        }
    }

    @Test
    void classNamesThresholdAndImageSizeComeFromTheFile() {
        Path always = ModelFiles.write(dir.resolve("t0.safetensors"), SMALL, 3, 40, Map.of(
                ModelInfo.META_CLASSES, "[\"NORMAL\",\"PNEUMONIA\"]", ModelInfo.META_THRESHOLD, "0",
                ModelInfo.META_POSITIVE_CLASS, "PNEUMONIA"));
        try (Classifier c = Classifier.load(always)) {
            assertEquals(List.of("NORMAL", "PNEUMONIA"), c.classes());
            assertEquals(40, c.info().preprocessing().imageSize());
            for (long seed = 0; seed < 4; seed++) {
                Prediction p = c.classify(ModelFiles.image(70, 55, seed));
                assertEquals("PNEUMONIA", p.label(), "threshold 0 on the positive class always fires");
                assertEquals(1, p.index());
                assertEquals(1.0, p.probability("NORMAL") + p.probability("PNEUMONIA"), 1e-6);
            }
        }
    }
}
