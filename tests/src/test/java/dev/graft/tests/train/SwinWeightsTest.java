package dev.graft.tests.train;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A torchvision swin_t state dict saved by torch itself ({@code torch.save(swin_t().state_dict(), f)}, random
 * weights: no download) is recognised by {@code graft inspect} and converts to a Graft model file. Opt-in (tag
 * slow, about 1 minute); skipped, saying why, unless {@code /usr/bin/python3} imports torch and torchvision.
 */
@Tag("slow")
class SwinWeightsTest {
    private static final String PYTHON = "/usr/bin/python3";

    @Test
    void torchvisionsSwinTFileIsRecognisedAndConverts(@TempDir Path dir) throws IOException, InterruptedException {
        Path pth = dir.resolve("swin_t.pth");
        Process p;
        try {
            p = new ProcessBuilder(PYTHON, "-c", "import sys, torch, torchvision; torch.manual_seed(0); "
                    + "torch.save(torchvision.models.swin_t(weights=None).state_dict(), sys.argv[1])", pth.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort(PYTHON + " is not available: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(5, TimeUnit.MINUTES);
        Assumptions.assumeTrue(p.exitValue() == 0, PYTHON + " could not build torchvision's swin_t: " + out);

        TrainCommandTest.Run in = TrainCommandTest.graft("inspect", pth.toString());
        assertEquals(0, in.code(), in.out() + in.err());
        assertTrue(in.out().contains("swin_t"), in.out());

        Path converted = dir.resolve("swin_t.safetensors");
        TrainCommandTest.Run cv = TrainCommandTest.graft("convert", pth.toString(), converted.toString());
        assertEquals(0, cv.code(), cv.out() + cv.err());
        TrainCommandTest.Run in2 = TrainCommandTest.graft("inspect", converted.toString());
        assertEquals(0, in2.code(), in2.out() + in2.err());
        assertTrue(in2.out().contains("swin_t"), in2.out());
        System.out.println(in.out().lines().limit(4).toList());
    }
}
