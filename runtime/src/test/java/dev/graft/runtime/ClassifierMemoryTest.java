package dev.graft.runtime;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.cpu.CpuBackend;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No native memory growth on the cpu device: after 30 warm-up calls, 300 more (batches of 1 to 3 images, ResNet-18
 * at 224x224) leave the bytes held by Graft's native buffers and its allocator cache exactly where they were, and
 * the resident memory of a JVM whose heap is fixed and pre-touched grows by less than 16 MiB; loading and closing a
 * classifier again and again does not accumulate either.
 */
class ClassifierMemoryTest {
    @TempDir
    Path dir;

    @Test
    void manyCallsDoNotGrowNativeMemory() throws Exception {
        Assumptions.assumeTrue(Backends.availability(Device.Kind.CPU).available(), "oneDNN not on the class path");
        Path model = ModelFiles.write(dir.resolve("r18.safetensors"), ResNetConfig.named("resnet18", 2), 1, 224, Map.of());
        // A child JVM whose heap is fixed and touched up front, so its resident-memory growth is native growth.
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC",
                "-Dorg.bytedeco.javacpp.nopointergc=true", "-cp", System.getProperty("java.class.path"),
                MemoryProbe.class.getName(), model.toString(), "30", "300").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        Map<String, Long> v = new java.util.HashMap<>();
        for (String line : out.split("\n")) {
            String[] kv = line.trim().split("=");
            if (kv.length == 2 && kv[1].matches("-?[0-9]+")) {
                v.put(kv[0], Long.parseLong(kv[1]));
            }
        }
        System.out.printf("300 calls after 30: native buffers %d -> %d bytes, allocator cache %d -> %d, RSS %.1f -> %.1f MiB%n",
                v.get("inUse0"), v.get("inUse1"), v.get("cached0"), v.get("cached1"), v.get("rss0") / 1048576.0,
                v.get("rss1") / 1048576.0);
        assertEquals(v.get("inUse0"), v.get("inUse1"), "bytes held by live native buffers");
        assertEquals(v.get("cached0"), v.get("cached1"), "bytes in the allocator's free lists");
        long growth = v.get("rss1") - v.get("rss0");
        assertTrue(growth < 16L << 20, "resident memory grew by " + (growth >> 20) + " MiB over 300 calls:\n" + out);
    }

    /** Child process of {@link #manyCallsDoNotGrowNativeMemory}: warm-up calls, then measured calls, key=value lines. */
    public static final class MemoryProbe {
        public static void main(String[] args) throws IOException {
            List<BufferedImage> images = ClassifierEqualityTest.images(3, 256, 256);
            int warmup = Integer.parseInt(args[1]);
            int calls = Integer.parseInt(args[2]);
            try (Classifier c = Classifier.load(Path.of(args[0]), Classifier.Options.defaults().withDevice("cpu"))) {
                for (int i = 0; i < warmup; i++) {
                    c.classify(images.subList(0, 1 + i % 3));
                }
                System.out.println("inUse0=" + CpuBackend.nativeBytesInUse());
                System.out.println("cached0=" + CpuBackend.nativeBytesCached());
                System.out.println("rss0=" + rssBytes());
                for (int i = 0; i < calls; i++) {
                    c.classify(images.subList(0, 1 + i % 3));
                }
                System.out.println("inUse1=" + CpuBackend.nativeBytesInUse());
                System.out.println("cached1=" + CpuBackend.nativeBytesCached());
                System.out.println("rss1=" + rssBytes());
            }
        }
    }

    @Test
    void loadingAndClosingRepeatedlyDoesNotAccumulate() {
        Assumptions.assumeTrue(Backends.availability(Device.Kind.CPU).available(), "oneDNN not on the class path");
        Path model = ModelFiles.write(dir.resolve("r18.safetensors"), ResNetConfig.named("resnet18", 2), 2, 224, Map.of());
        BufferedImage image = ModelFiles.image(224, 224, 3);
        long afterFirst = 0;
        for (int i = 0; i < 5; i++) {
            try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withDevice("cpu"))) {
                c.classify(image);
            }
            long now = CpuBackend.nativeBytesInUse();
            if (i == 0) {
                afterFirst = now;
            }
            // Reordered weight copies of a closed model are dropped when the next model's weights arrive.
            assertTrue(now <= afterFirst, "load/close " + i + ": " + now + " bytes in use, " + afterFirst + " after the first");
        }
    }

    private static long rssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
