package dev.graft.tests.train;

import dev.graft.loaders.Npy;
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
 * weights: no download) is recognised by {@code graft inspect}, converts to a Graft model file, and
 * {@code graft forward} on the cpu backend gives torch's eval logits. Opt-in (tag
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
            p = new ProcessBuilder(PYTHON, "-c", "import sys, numpy, torch, torchvision; torch.manual_seed(0); "
                    + "m = torchvision.models.swin_t(weights=None).eval(); torch.save(m.state_dict(), sys.argv[1]); "
                    + "x = torch.randn(2, 3, 96, 96); numpy.save(sys.argv[2], x.numpy()); "
                    + "numpy.save(sys.argv[3], m(x).detach().numpy())",
                    pth.toString(), dir.resolve("x.npy").toString(), dir.resolve("torch_logits.npy").toString())
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

        // graft forward on the cpu backend against torch's eval logits (float32 both; 96x96: maps 24, 12, 6, 3 with
        // padding to 7 and the shift dropped from the third stage on). 1e-4 relative to the largest logit: float32
        // rounding through 12 blocks in two summation orders measures about 1e-6 on the narrow fixtures.
        TrainCommandTest.Run fw = TrainCommandTest.graft("forward", "--weights", pth.toString(), "--input",
                dir.resolve("x.npy").toString(), "--output", dir.resolve("logits.npy").toString(), "--device", "cpu");
        assertEquals(0, fw.code(), fw.out() + fw.err());
        float[] ours = Npy.read(dir.resolve("logits.npy")).toFloats();
        float[] theirs = Npy.read(dir.resolve("torch_logits.npy")).toFloats();
        assertEquals(theirs.length, ours.length);
        double scale = 0;
        double diff = 0;
        for (int i = 0; i < ours.length; i++) {
            scale = Math.max(scale, Math.abs(theirs[i]));
            diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
        }
        System.out.printf("swin_t forward (cpu) vs torch: max |diff| %.3g, max |logit| %.3g%n", diff, scale);
        assertTrue(diff <= 1e-4 * scale, diff + " vs " + scale);
    }
}
