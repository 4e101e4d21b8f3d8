package dev.graft.runtime;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Backends;
import dev.graft.models.BlockType;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Classifier#classify(List)} with more images than {@code maxBatch} (11 images, maxBatch 4: forward passes of
 * 4, 4 and 3 images) gives, image for image and in order, the predictions of classifying each image alone, folded
 * and unoptimised, on every available device.
 *
 * <p>Tolerances. reference: bit for bit (its plain Java kernels compute each image's outputs alone, in the same
 * order whatever the batch). cpu: max |logit difference| / max |logit| at most 1e-5, labels identical. oneDNN
 * chooses its kernels by shape, so a batch of 1 and a batch of 4 need not round alike: measured 0 for the folded
 * plan, and 1.3e-7 unoptimised, where the pooled features are bit-identical (checked separately) and only
 * {@code fc}'s matmul rounds differently for one row than for several. A misplaced, repeated or lost image differs by the order of
 * the logits themselves (the images are checked to give distinct logits).
 */
class ClassifierBatchingTest {
    private static final int MAX_BATCH = 4;
    private static final int IMAGES = 11; // not a multiple of MAX_BATCH: the last pass is a short one
    private static final double CPU_TOLERANCE = 1e-5;

    @TempDir
    Path dir;

    @Test
    void aListLongerThanMaxBatchEqualsOneImageAtATime() {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 2, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(3);
        Path model = ModelFiles.write(dir.resolve("m.safetensors"), config, 21, 32, Map.of());
        List<BufferedImage> images = new ArrayList<>();
        for (int i = 0; i < IMAGES; i++) {
            images.add(ModelFiles.image(40 + 5 * i, 36 + 3 * (i % 4), 300 + i)); // sizes and aspects differ
        }
        for (Device.Kind kind : new Device.Kind[] {Device.Kind.REFERENCE, Device.Kind.CPU}) {
            if (!Backends.availability(kind).available()) {
                continue;
            }
            String device = kind.name().toLowerCase();
            for (boolean optimize : new boolean[] {true, false}) {
                String what = device + (optimize ? " folded" : " unoptimised");
                Classifier.Options o = Classifier.Options.defaults().withDevice(device).withOptimize(optimize).withMaxBatch(MAX_BATCH);
                try (Classifier c = Classifier.load(model, o)) {
                    List<Prediction> alone = new ArrayList<>();
                    for (BufferedImage img : images) {
                        alone.add(c.classify(img));
                    }
                    for (int i = 0; i < IMAGES; i++) {
                        for (int j = 0; j < i; j++) {
                            assertFalse(Arrays.equals(alone.get(i).logits(), alone.get(j).logits()), what + ": images " + j + ", " + i);
                        }
                    }
                    List<Prediction> batched = c.classify(images);
                    assertEquals(IMAGES, batched.size(), what);
                    double err = maxError(alone, batched);
                    System.out.printf("%s: max |logit difference| / max |logit|, batched vs alone: %.2e%n", what, err);
                    if (kind == Device.Kind.REFERENCE) {
                        for (int i = 0; i < IMAGES; i++) {
                            assertEquals(alone.get(i), batched.get(i), what + ": image " + i);
                        }
                    } else {
                        assertTrue(err <= CPU_TOLERANCE, what + ": relative logit error " + err);
                        for (int i = 0; i < IMAGES; i++) {
                            assertEquals(alone.get(i).label(), batched.get(i).label(), what + ": image " + i);
                        }
                    }
                }
            }
        }
    }

    private static double maxError(List<Prediction> want, List<Prediction> got) {
        double scale = 0;
        double diff = 0;
        for (int i = 0; i < want.size(); i++) {
            float[] a = want.get(i).logits();
            float[] b = got.get(i).logits();
            assertEquals(a.length, b.length);
            for (int k = 0; k < a.length; k++) {
                scale = Math.max(scale, Math.abs(a[k]));
                diff = Math.max(diff, Math.abs(a[k] - b[k]));
            }
        }
        return diff / scale;
    }
}
