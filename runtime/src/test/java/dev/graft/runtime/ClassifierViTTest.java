package dev.graft.runtime;

import dev.graft.engine.Device;
import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.ViTConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The runtime Classifier on narrow ViT model files (torchvision's and timm's names), as {@link ClassifierSwinTest}:
 * a ViT has no fused plan, so both {@code optimize} settings run the unfused modules and must agree; the logits are
 * finite and there is one per class. (Agreement with {@code graft predict} on a trained file: tests module,
 * {@code ViTTrainTest}.)
 */
class ClassifierViTTest {
    @TempDir
    Path dir;

    @Test
    void vitModelFilesClassifyThroughTheModules() {
        for (String naming : List.of("torchvision", "timm")) {
            ViTConfig vit = ViTConfig.parse("family=vit naming=" + naming + " image=32 patch=8 hidden=16 depth=2 heads=2 mlp=32 "
                    + "classes=3 in_channels=3");
            Path file = dir.resolve(naming + ".safetensors");
            // torchvision zeroes a fresh ViT's head; a replaced head (nn.Linear's init) makes the logits differ
            try (ResNet m = ResNet.builder(ResNetConfig.vit(vit)).device(Device.REFERENCE).seed(4).build()) {
                m.replaceHead(3, 5);
                StateDict state = m.stateDict();
                state.metadata().putAll(Preprocessing.imagenet(32).toMetadata());
                SafeTensors.write(file, state);
            }
            List<BufferedImage> images = List.of(ModelFiles.image(40, 36, 1), ModelFiles.image(32, 32, 2));
            try (Classifier optimised = Classifier.load(file, Classifier.Options.defaults().withDevice("reference"));
                 Classifier plain = Classifier.load(file, Classifier.Options.defaults().withDevice("reference").withOptimize(false))) {
                List<Prediction> a = optimised.classify(images);
                List<Prediction> b = plain.classify(images);
                for (int i = 0; i < images.size(); i++) {
                    assertEquals(3, a.get(i).logits().length);
                    for (int k = 0; k < 3; k++) {
                        // the same modules on the same backend: equal up to float rounding (1e-6 relative)
                        assertEquals(b.get(i).logits()[k], a.get(i).logits()[k], 1e-6 * (1 + Math.abs(b.get(i).logits()[k])));
                        assertTrue(Float.isFinite(a.get(i).logits()[k]));
                    }
                    assertTrue(a.get(i).logits()[0] != a.get(i).logits()[1], "a head that reads the features");
                }
            }
        }
    }
}
