package dev.graft.tests.differential;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.Npy;
import dev.graft.loaders.StateDicts;
import dev.graft.models.BatchNormPolicy;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trust issue's report, replayed: a torchvision resnet34 (3 classes, fine-tuned batch-norm state, train mode,
 * batch 2 of 72x88; {@code make_kink_case.py}) whose cpu gradients were 1.5e-2 to 3.6e-2 off torch's float64 ones.
 * The cause is not a kernel: one input of layer4.2's final add + relu is 1.75e-5 in F64 while the float32 forward
 * drifts by up to 1.7e-4 in that stage (train-mode batch norm over 18 values per channel), so the cpu run zeroes it,
 * lands on the neighbouring linear piece, and returns the gradient of that piece, another function's (PyTorch float32 does the same on other seeds: 2.6e-2 to 1.25e-1 on
 * five of six such draws). Asserted: (1) the reference backend in F64 reproduces torch's float64 gradients (the
 * harness's oracle against an independent implementation, within 1e-8 relative to each tensor's largest entry);
 * (2) on the piece the cpu run chose, cpu passes the harness's criterion. The error against F64's own piece is
 * printed. Opt-in ({@code slow}, about a minute): needs /usr/bin/python3 with torch and torchvision.
 */
@Tag("slow")
class KinkCaseTest {
    private static final String PYTHON = "/usr/bin/python3";

    @TempDir
    Path dir;

    /** The torchvision checkpoint as a draw of the harness. */
    private record TorchvisionDraw(ResNetConfig config, StateDict weights, HostTensor x, int[] labels) implements NetworkDraw {
        @Override
        public int batch() {
            return x.shape().dim(0);
        }

        @Override
        public int height() {
            return x.shape().dim(2);
        }

        @Override
        public int width() {
            return x.shape().dim(3);
        }

        @Override
        public boolean train() {
            return true;
        }

        @Override
        public String frozenUpTo() {
            return null;
        }

        @Override
        public BatchNormPolicy policy() {
            return BatchNormPolicy.TRACK;
        }

        @Override
        public float[] images() {
            return x.toFloats();
        }

        @Override
        public String toString() {
            return "torchvision resnet34 (trust issue), batch " + batch() + " x " + height() + "x" + width() + ", train";
        }
    }

    @Test
    void resnet34WithFineTunedBatchNormState() throws Exception {
        Assumptions.assumeTrue(torchAvailable(), PYTHON + " cannot import torch and torchvision");
        Path script = Files.exists(Path.of("src/test/fixtures/make_kink_case.py")) ? Path.of("src/test/fixtures/make_kink_case.py")
                : Path.of("tests/src/test/fixtures/make_kink_case.py");
        Process p = new ProcessBuilder(PYTHON, script.toString(), dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES) && p.exitValue() == 0, out);

        StateDict weights = StateDicts.read(dir.resolve("weights.pth"));
        ResNetConfig config;
        try (ResNet m = ResNet.fromStateDict(weights, Device.REFERENCE)) {
            config = m.config();
        }
        long[] y = Npy.read(dir.resolve("y.npy")).longs();
        int[] labels = new int[y.length];
        for (int i = 0; i < y.length; i++) {
            labels[i] = (int) y[i];
        }
        TorchvisionDraw draw = new TorchvisionDraw(config, weights, Npy.read(dir.resolve("x.npy")), labels);

        // (1) The oracle: the reference in F64, on its own piece, against torch's float64.
        Map<String, double[]> f64 = draw.run(Device.REFERENCE, DType.F64, weights).tensors();
        Map<String, double[]> torch = readNpz(dir.resolve("grads64.npz"));
        double worst = 0;
        for (Map.Entry<String, double[]> e : torch.entrySet()) {
            worst = Math.max(worst, NetworkDifferential.error(f64.get("grad " + e.getKey()), e.getValue()));
        }
        System.out.printf("reference F64 vs torch float64: %.2e%n", worst);
        assertTrue(worst <= 1e-8, "reference F64 gradients are " + worst + " off torch's float64");

        // (2) cpu on its own piece.
        NetworkDifferential.Outcome o = NetworkDifferential.run(draw, Device.CPU);
        Map<String, double[]> cpu = draw.run(Device.CPU, DType.F32, weights).tensors();
        double naive = 0;
        for (String k : torch.keySet()) {
            naive = Math.max(naive, NetworkDifferential.error(cpu.get("grad " + k), f64.get("grad " + k)));
        }
        System.out.printf("cpu vs F64's own piece: %.2e; on the cpu run's piece:%n%s", naive, o.report());
        assertTrue(o.failures().isEmpty(), o.report());
    }

    /** Float64 arrays of an .npz (a zip of .npy files) by name. */
    private static Map<String, double[]> readNpz(Path npz) throws IOException {
        Map<String, double[]> out = new java.util.LinkedHashMap<>();
        try (ZipFile z = new ZipFile(npz.toFile())) {
            for (var e : java.util.Collections.list(z.entries())) {
                Path tmp = Files.createTempFile("npz", ".npy");
                try (var in = z.getInputStream(e)) {
                    Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    out.put(e.getName().replaceAll("\\.npy$", ""), Npy.read(tmp).doubles());
                } finally {
                    Files.delete(tmp);
                }
            }
        }
        return out;
    }

    private static boolean torchAvailable() {
        try {
            Process p = new ProcessBuilder(PYTHON, "-c", "import torch, torchvision").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
