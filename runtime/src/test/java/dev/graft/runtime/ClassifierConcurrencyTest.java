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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Several threads classifying at once, single images and batches of different sizes interleaved, give exactly
 * (bit for bit) the predictions one thread gets for the same calls, on every available device.
 */
class ClassifierConcurrencyTest {
    private static final int THREADS = 6;
    private static final int CALLS = 12;

    @TempDir
    Path dir;

    @Test
    void concurrentPredictionsEqualSequentialOnes() throws Exception {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 2, 1, 1, 1).withWidths(16, 16, 32, 32, 64).withNumClasses(3);
        Path model = ModelFiles.write(dir.resolve("m.safetensors"), config, 9, 64, Map.of());
        List<BufferedImage> images = ClassifierEqualityTest.images(5, 90, 75);
        for (Device.Kind kind : new Device.Kind[] {Device.Kind.REFERENCE, Device.Kind.CPU}) {
            if (!Backends.availability(kind).available()) {
                continue;
            }
            String device = kind.name().toLowerCase();
            try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withDevice(device))) {
                List<List<Prediction>> expected = new ArrayList<>();
                for (int call = 0; call < CALLS; call++) {
                    expected.add(c.classify(batch(images, call)));
                }
                ExecutorService pool = Executors.newFixedThreadPool(THREADS);
                try {
                    List<Future<List<List<Prediction>>>> futures = new ArrayList<>();
                    for (int t = 0; t < THREADS; t++) {
                        int offset = t;
                        futures.add(pool.submit(() -> {
                            List<List<Prediction>> got = new ArrayList<>();
                            for (int i = 0; i < CALLS; i++) {
                                got.add(c.classify(batch(images, (i + offset) % CALLS)));
                            }
                            return got;
                        }));
                    }
                    for (int t = 0; t < THREADS; t++) {
                        List<List<Prediction>> got = futures.get(t).get();
                        for (int i = 0; i < CALLS; i++) {
                            List<Prediction> want = expected.get((i + t) % CALLS);
                            assertEquals(want.size(), got.get(i).size());
                            for (int k = 0; k < want.size(); k++) {
                                assertArrayEquals(want.get(k).logits(), got.get(i).get(k).logits(),
                                        device + " thread " + t + " call " + i + " image " + k);
                                assertEquals(want.get(k).label(), got.get(i).get(k).label());
                            }
                        }
                    }
                } finally {
                    pool.shutdown();
                }
            }
        }
    }

    /** Call i classifies 1 to 3 images starting at a rotating offset: several batch shapes in flight at once. */
    private static List<BufferedImage> batch(List<BufferedImage> images, int call) {
        int n = 1 + call % 3;
        List<BufferedImage> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            out.add(images.get((call + k) % images.size()));
        }
        return out;
    }
}
