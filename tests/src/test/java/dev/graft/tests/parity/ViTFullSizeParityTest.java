package dev.graft.tests.parity;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.models.ViTConfig;
import dev.graft.models.VisionTransformer;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Full-size DeiT-S and vit_b_16 (5-class heads, batch 1 at 224x224, random weights) against torch 1.13, the fixture made
 * at test time by {@code make_vit_fixtures.py --full} into a temporary directory: eval and train logits, loss, every
 * parameter gradient, F32 on the cpu backend. Opt-in ({@code -Dgroups=slow}); skipped with the reason where
 * {@code /usr/bin/python3} cannot import torch and torchvision.
 *
 * <p>Tolerances (relative to torch's largest magnitude): logits and loss 5e-5, gradients 1e-4, F32 through 12 blocks.
 * Measured on 2 cores (2026-12-08, about 80 s per network): logits 6e-7 to 1.5e-6, loss 7e-6, worst gradient 6.4e-6
 * (deit_s) and 8.5e-6 (vit_b_16).
 */
@Tag("slow")
class ViTFullSizeParityTest {
    private static final String PYTHON = "/usr/bin/python3";
    static final double LOGITS = 5e-5;
    static final double GRADIENTS = 1e-4;

    @TempDir
    Path dir;

    @Test
    void deitSmall() throws Exception {
        replay("deit_s");
    }

    @Test
    void vitB16() throws Exception {
        replay("vit_b_16");
    }

    private void replay(String arch) throws Exception {
        Assumptions.assumeTrue(torchAvailable(), PYTHON + " cannot import torch and torchvision: full-size ViT parity skipped");
        Process p = new ProcessBuilder(PYTHON, script().toString(), "--full", arch, dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.MINUTES);
        assertEquals(0, p.exitValue(), "fixture generation failed:\n" + out);
        RawFixture f = RawFixture.load(dir.resolve(arch + ".json"));
        ViTConfig config = ViTConfig.parse(f.meta().path("config").asText());
        assertEquals(arch, config.architecture());
        double worstGrad = 0;
        try (VisionTransformer m = VisionTransformer.allocate(config, Device.CPU, DType.F32); Scope s = Scope.open()) {
            assertEquals(List.copyOf(f.stateDict("init/").keys()), List.copyOf(m.namedState().keySet()), "keys and order");
            m.load(f.stateDict("init/"), true);
            Tensor x = f.get("input").toTensor(Device.CPU);
            m.eval();
            try (Grad.Mode off = Grad.off()) {
                within("eval logits", Deviation.of("eval logits", f.get("logits_eval").floats(), m.forward(x).toFloatArray()), LOGITS);
            }
            m.train();
            Tensor logits = m.forward(x);
            within("train logits", Deviation.of("train logits", f.get("logits_train").floats(), logits.toFloatArray()), LOGITS);
            Tensor loss = Functional.crossEntropy(logits, f.labels("labels"));
            within("loss", Deviation.of("loss", f.get("loss_train").floats(), loss.toFloatArray()), LOGITS);
            loss.backward();
            for (var e : m.namedParameters().entrySet()) {
                Deviation d = Deviation.of(e.getKey(), f.get("grad/" + e.getKey()).floats(), e.getValue().grad().toFloatArray());
                within("gradient", d, GRADIENTS);
                worstGrad = Math.max(worstGrad, d.relative());
            }
        }
        System.out.printf("%s full size on cpu: worst gradient relative deviation %.3g%n", arch, worstGrad);
    }

    private static void within(String what, Deviation d, double tolerance) {
        System.out.println("  " + d);
        assertTrue(d.relative() <= tolerance, what + " beyond " + tolerance + ": " + d);
    }

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
        for (Path p : List.of(Path.of("src/test/fixtures/make_vit_fixtures.py"), Path.of("tests/src/test/fixtures/make_vit_fixtures.py"))) {
            if (Files.exists(p)) {
                return p;
            }
        }
        throw new IllegalStateException("make_vit_fixtures.py not found from " + Path.of("").toAbsolutePath());
    }
}
