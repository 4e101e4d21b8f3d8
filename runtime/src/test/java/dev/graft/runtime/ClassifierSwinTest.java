package dev.graft.runtime;

import dev.graft.models.ResNetConfig;
import dev.graft.models.SwinConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The runtime Classifier on a narrow Swin model file: it loads whatever {@code optimize} says (a Swin has no fused
 * plan, so both run the unfused modules) and classifies two images to finite logits, the same under both options.
 */
class ClassifierSwinTest {
    @TempDir
    Path dir;

    @Test
    void swinModelFileClassifiesThroughTheModules() {
        SwinConfig swin = SwinConfig.parse("family=swin patch=4 embed=8 depths=2,2 heads=1,2 window=2 stochastic_depth=0.1 "
                + "classes=3 in_channels=3");
        Path file = ModelFiles.write(dir.resolve("swin.safetensors"), ResNetConfig.swin(swin), 4, 32, Map.of());
        List<BufferedImage> images = List.of(ModelFiles.image(40, 36, 1), ModelFiles.image(32, 32, 2));
        try (Classifier optimised = Classifier.load(file, Classifier.Options.defaults().withDevice("reference"));
             Classifier plain = Classifier.load(file, Classifier.Options.defaults().withDevice("reference").withOptimize(false))) {
            List<Prediction> a = optimised.classify(images);
            List<Prediction> b = plain.classify(images);
            for (int i = 0; i < images.size(); i++) {
                assertEquals(3, a.get(i).logits().length);
                for (int k = 0; k < 3; k++) {
                    assertEquals(b.get(i).logits()[k], a.get(i).logits()[k], 1e-6 * (1 + Math.abs(b.get(i).logits()[k])));
                    assertTrue(Float.isFinite(a.get(i).logits()[k]));
                }
            }
        }
    }
}
