package dev.graft.tests.parity;

import dev.graft.engine.Device;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.loaders.StateDicts;
import dev.graft.models.ResNet;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A file shaped as torchvision's published {@code inception_v3_google-0cc3c7bd.pth} (which cannot be downloaded here):
 * torchvision's own inception_v3 with 1000 classes and its auxiliary head, random weights and running statistics,
 * {@code torch.save(model.state_dict())}, and the logits torchvision computes for it with {@code transform_input=True}
 * (as torchvision loads the published weights). Graft reads the .pth without being told the architecture and gives
 * the same eval logits. Opt-in (a 100 MB file, about a minute): tagged {@code slow}, skipped unless
 * {@code /usr/bin/python3} imports torch and torchvision.
 */
@Tag("slow")
class InceptionCheckpointTest {
    private static final String PYTHON = "/usr/bin/python3";
    private static final String SCRIPT = String.join("\n",
            "import sys, torch, torchvision",
            "torch.manual_seed(0)",
            "m = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=True, transform_input=True)",
            "for mod in m.modules():",
            "    if isinstance(mod, torch.nn.BatchNorm2d):",
            "        mod.running_mean.uniform_(-0.1, 0.1); mod.running_var.uniform_(0.5, 1.5)",
            "        mod.weight.data.uniform_(0.5, 1.5); mod.bias.data.uniform_(-0.1, 0.1)",
            "torch.save(m.state_dict(), sys.argv[1])",
            "m.eval()",
            "x = torch.linspace(-2, 2, 2 * 3 * 149 * 149).reshape(2, 3, 149, 149)",
            "with torch.no_grad():",
            "    y = m(x)",
            "open(sys.argv[2], 'w').write(' '.join(repr(v) for v in y.flatten().tolist()))");

    @TempDir
    Path dir;

    @Test
    void torchSavedInceptionV3LoadsAndGivesTorchvisionsLogits() throws Exception {
        Path pth = dir.resolve("inception_v3.pth");
        Path logits = dir.resolve("logits.txt");
        Process p;
        try {
            p = new ProcessBuilder(PYTHON, "-c", SCRIPT, pth.toString(), logits.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort(PYTHON + " is not there: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(600, TimeUnit.SECONDS));
        Assumptions.assumeTrue(p.exitValue() == 0 || !out.contains("No module named"), PYTHON + " has no torch/torchvision");
        assertEquals(0, p.exitValue(), out);
        double[] expected = Arrays.stream(Files.readString(logits).trim().split(" ")).mapToDouble(Double::parseDouble).toArray();

        StateDict sd = StateDicts.read(pth);
        try (Scope s = Scope.open("checkpoint"); ResNet m = ResNet.fromStateDict(sd, Device.CPU); Grad.Mode off = Grad.off()) {
            assertEquals("inception_v3", m.config().architecture());
            assertTrue(m.config().transformInput() && m.config().auxLogits(), m.config().toString());
            m.eval();
            int n = 2 * 3 * 149 * 149;
            float[] x = new float[n];
            for (int i = 0; i < n; i++) { // torch.linspace(-2, 2, n) in float32: start + i * step, the second half from the end
                double step = 4.0 / (n - 1);
                x[i] = (float) (i < n / 2 ? -2 + i * step : 2 - (n - 1 - i) * step);
            }
            float[] got = m.forward(Tensor.fromArray(Device.CPU, x, 2, 3, 149, 149)).toFloatArray();
            assertEquals(expected.length, got.length);
            double max = Arrays.stream(expected).map(Math::abs).max().orElse(0);
            double worst = 0;
            for (int i = 0; i < got.length; i++) {
                worst = Math.max(worst, Math.abs(got[i] - expected[i]) / max);
            }
            System.out.printf("torch.save'd inception_v3: eval logits deviate %.2e of max |logit| %.3g%n", worst, max);
            // float32 through 94 convolutions; InceptionParityTest measures 1.3e-6 on its deterministic weights
            assertTrue(worst < 1e-4, "deviation " + worst);
        }
    }
}
