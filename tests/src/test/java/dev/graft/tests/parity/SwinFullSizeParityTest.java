package dev.graft.tests.parity;

import dev.graft.engine.DType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Full-size torchvision swin_t (5 classes, stochastic depth 0, batch 2 of 112x112 images: maps 28, 14, 7 and 4, the
 * last padded to 7 with its shift dropped) built by torch at test time ({@code make_swin_fixtures.py --full}) in
 * float64, replayed by Graft in F64 on the reference backend: eval and train logits, loss and every gradient within
 * 1e-5 relative to the largest entry of torch's tensor (the fixture stores float32, so about 1e-7 is the floor).
 * Opt-in: tagged {@code slow}; skipped, saying why, unless {@code /usr/bin/python3} imports torch and torchvision.
 */
@Tag("slow")
class SwinFullSizeParityTest {
    private static final String PYTHON = "/usr/bin/python3";
    static final double F64_ANY = 1e-5;

    @TempDir
    Path dir;

    private static boolean torchAvailable() {
        try {
            Process p = new ProcessBuilder(PYTHON, "-c", "import torch, torchvision").redirectErrorStream(true).start();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Path script() {
        for (Path p : List.of(Path.of("src/test/fixtures/make_swin_fixtures.py"), Path.of("tests/src/test/fixtures/make_swin_fixtures.py"))) {
            if (Files.exists(p)) {
                return p;
            }
        }
        throw new IllegalStateException("make_swin_fixtures.py not found from " + Path.of("").toAbsolutePath());
    }

    @Test
    void fullSizeSwinTMatchesTorchvisionInF64() throws Exception {
        Assumptions.assumeTrue(torchAvailable(), PYTHON + " cannot import torch and torchvision: full-size swin_t parity skipped");
        Process p = new ProcessBuilder(PYTHON, script().toString(), "--full", dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.MINUTES);
        assertEquals(0, p.exitValue(), "fixture generation failed:\n" + out);
        SwinParityTest.replay(RawFixture.load(dir.resolve("swin_t_full.json")), "swin_t full size", DType.F64, F64_ANY, F64_ANY);
    }
}
