package dev.graft.runtime;

import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runtime's command line out of Java heap: one line saying so and what -Xmx to give, exit 1, no stack trace. */
class MainHeapTest {
    @TempDir
    Path dir;

    @Test
    void outOfHeapIsOneLineWithTheHeapToGive() throws Exception {
        // ResNet-18 (45 MB) on the pure-Java backend needs its weights on the heap twice: 48 MiB is not enough.
        Path model = ModelFiles.write(dir.resolve("r18.safetensors"), ResNetConfig.named("resnet18", 2), 1, 224, Map.of());
        Path image = dir.resolve("x.png");
        ImageIO.write(ModelFiles.image(64, 64, 1), "png", image.toFile());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx48m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "--device", "reference", model.toString(), image.toString()).start();
        String out = new String(p.getInputStream().readAllBytes());
        String err = new String(p.getErrorStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM ended");
        assertEquals(1, p.exitValue(), out + err);
        int want = HeapAdvice.suggestedMiB(Files.size(model));
        assertTrue(err.contains("error: out of Java heap (-Xmx is "), err);
        assertTrue(err.contains("-Xmx" + want + "m"), err);
        assertFalse(err.contains("\tat ") || err.contains("Exception in thread"), "no stack trace:\n" + err);
        assertEquals(160, HeapAdvice.suggestedMiB(45L << 20), "64 + 90 MiB, rounded up to 32");
    }
}
