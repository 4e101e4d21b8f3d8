package dev.graft.tests.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.Device;
import dev.graft.engine.Grad;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.loaders.StateDicts;
import dev.graft.models.LayerOutputs;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.train.ModelFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static dev.graft.tests.cli.Cli.args;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft reuse} end to end on the shipped demo network (M0) and a "fine-tuned" M1 made from it here by a new
 * two-class head and a known perturbation of layer4.0 only, on a few of the demo's Fashion-MNIST images. Every layer
 * below layer4.0 is then exactly M0's, which fixes the expected values independently of the code under test.
 */
class ReuseCommandTest {
    static final Path DEMO = Path.of("..", "demo", "fashion").toAbsolutePath().normalize();
    static final Path PRETRAINED = DEMO.resolve("pretrained.safetensors");
    static final String PERTURBED = "layer4.0.";

    @TempDir
    Path tmp;

    /** M1: the demo network with head shirt/tshirt_top and 0.05 x N(0, 1) added to every layer4.0 parameter. */
    private Path fineTuned() {
        Path file = tmp.resolve("m1.safetensors");
        ModelFile m0 = ModelFile.read(PRETRAINED);
        try (ResNet m = m0.build(Device.REFERENCE)) {
            m.replaceHead(2, 7);
            StateDict sd = m.stateDict();
            Random r = new Random(5);
            for (String key : m.namedParameters().keySet()) {
                if (key.startsWith(PERTURBED)) {
                    HostTensor t = sd.get(key);
                    float[] v = t.toFloats();
                    for (int i = 0; i < v.length; i++) {
                        v[i] += (float) (0.05 * r.nextGaussian());
                    }
                    sd.put(key, HostTensor.of(v, t.shape()));
                }
            }
            m.load(sd, true);
            ModelFile.write(file, m, List.of("shirt", "tshirt_top"), m0.preprocessing(), 0.5, 1, null);
        }
        return file;
    }

    /** DIR/{train,test}/{shirt,tshirt_top}: the first {@code n} demo images of each class and split. */
    private Path data(int n) throws IOException {
        Path root = tmp.resolve("data");
        for (String split : List.of("train", "test")) {
            for (String cls : List.of("shirt", "tshirt_top")) {
                Path to = Files.createDirectories(root.resolve(split).resolve(cls));
                try (Stream<Path> s = Files.list(DEMO.resolve("task").resolve(split).resolve(cls))) {
                    for (Path p : s.sorted().limit(n).toList()) {
                        Files.copy(p, to.resolve(p.getFileName()));
                    }
                }
            }
        }
        return root;
    }

    /** ||W1 - W0|| / ||W0|| over layer4.0's parameters, straight from the two files. */
    private static double layer4Distance(Path m1) {
        StateDict a = StateDicts.read(PRETRAINED), b = StateDicts.read(m1);
        double diff = 0, base = 0;
        for (String key : b.keys()) {
            if (key.startsWith(PERTURBED) && !key.contains("running_") && !key.endsWith("num_batches_tracked")) {
                float[] x = a.get(key).toFloats(), y = b.get(key).toFloats();
                for (int i = 0; i < x.length; i++) {
                    diff += ((double) y[i] - x[i]) * ((double) y[i] - x[i]);
                    base += (double) x[i] * x[i];
                }
            }
        }
        return Math.sqrt(diff / base);
    }

    @Test
    void demoNetworkAgainstAPerturbedCopy() throws IOException {
        Path m1 = fineTuned();
        Path out = tmp.resolve("reuse");
        Cli.Run run = Cli.ok("reuse", "--before", PRETRAINED, "--after", m1, "--data", data(10), "--out", out,
                "--samples", 16, "--knn-k", 5, "--device", "reference", "--no-progress", "--workers", 1);
        assertTrue(run.out().contains("layer4.0"), run::toString);
        assertTrue(run.out().contains("fc is left out"), run::toString);
        JsonNode json = new ObjectMapper().readTree(out.resolve("reuse.json").toFile());
        assertEquals(16, json.get("cka_samples").asInt());
        assertEquals(20, json.get("bank_images").asInt());
        List<String> names = new ArrayList<>();
        json.get("layers").forEach(l -> names.add(l.get("layer").asText()));
        assertEquals(List.of("stem", "layer1.0", "layer2.0", "layer3.0", "layer4.0", "avgpool"), names);
        for (JsonNode l : json.get("layers")) {
            String name = l.get("layer").asText();
            if (name.equals("layer4.0") || name.equals("avgpool")) {
                continue;
            }
            // Same weights, same images, same code path: equal activations, so CKA 1 up to float64 rounding; resetting
            // the layer to its own values changes nothing, bit for bit.
            assertEquals(1.0, l.get("cka_debiased").asDouble(), 1e-9, name);
            assertEquals(1.0, l.get("cka_biased").asDouble(), 1e-9, name);
            assertEquals(0.0, l.get("weight_distance").asDouble(), 0.0, name);
            assertEquals(0.0, l.get("accuracy_drop").asDouble(), 0.0, name);
            assertEquals(0.0, l.get("auc_drop").asDouble(), 0.0, name);
            assertEquals(l.get("knn_accuracy_before").asDouble(), l.get("knn_accuracy_after").asDouble(), 0.0, name);
        }
        JsonNode l4 = json.get("layers").get(4);
        // float32 values summed in float64 on both sides; only the summation order differs
        assertEquals(layer4Distance(m1), l4.get("weight_distance").asDouble(), 1e-12);
        assertTrue(l4.get("cka_debiased").asDouble() < 1 - 1e-6, "a perturbed block changes its activations");
        assertTrue(json.get("layers").get(5).get("weight_distance").isNull(), "avgpool has no weights");
        List<String> csv = Files.readAllLines(out.resolve("reuse.csv"));
        assertEquals(7, csv.size());
        assertTrue(csv.get(0).startsWith("depth,layer,"));
        for (String plot : List.of("cka", "weight-distance", "reinit", "knn")) {
            assertNotNull(ImageIO.read(out.resolve("plots").resolve(plot + ".png").toFile()), plot);
        }
    }

    /**
     * M1 against itself: the heads match, so fc is a layer too, and every layer has CKA 1, distance 0 and no drop
     * when reset to its own values.
     */
    @Test
    void aModelAgainstItselfIncludingTheHead() throws IOException {
        Path m1 = fineTuned();
        Path out = tmp.resolve("self");
        Cli.ok("reuse", "--before", m1, "--after", m1, "--data", data(4), "--out", out, "--samples", 8, "--cka", "biased",
                "--device", "reference", "--no-progress", "--workers", 1);
        JsonNode json = new ObjectMapper().readTree(out.resolve("reuse.json").toFile());
        assertTrue(json.get("head_compared").asBoolean());
        JsonNode layers = json.get("layers");
        assertEquals("fc", layers.get(layers.size() - 1).get("layer").asText());
        for (JsonNode l : layers) {
            String name = l.get("layer").asText();
            assertEquals(1.0, l.get("cka_debiased").asDouble(), 1e-9, name);
            assertEquals(1.0, l.get("cka_biased").asDouble(), 1e-9, name);
            if (!name.equals("avgpool")) {
                assertEquals(0.0, l.get("weight_distance").asDouble(), 0.0, name);
                assertEquals(0.0, l.get("accuracy_drop").asDouble(), 0.0, name);
            }
        }
    }

    /** The named-activation walk ends in the same logits as the model's own unfused forward pass. */
    @Test
    void layerOutputsChainEndsInTheModelsLogits() {
        try (ResNet m = ResNet.builder(DecisionFixtures.TINY).device(Device.REFERENCE).seed(9).build();
             Scope s = Scope.open("test"); Grad.Mode off = Grad.off()) {
            m.eval();
            m.setFusedInference(false);
            Random r = new Random(1);
            float[] x = new float[2 * 3 * 32 * 32];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            Tensor in = Tensor.fromArray(Device.REFERENCE, x, 2, 3, 32, 32);
            float[] expected = m.forward(in).toFloatArray();
            float[][] got = new float[1][];
            LayerOutputs.run(m, in, Set.of("fc"), (name, y) -> got[0] = y.toFloatArray());
            for (int i = 0; i < expected.length; i++) {
                // bn1 + relu fused in forward, separate here: float32 rounding of a few ulp on logits of order 1
                assertEquals(expected[i], got[0][i], 1e-5);
            }
        }
    }

    @Test
    void mismatchedArchitecturesNameTheFirstDifferentParameter() throws IOException {
        Path m0 = tmp.resolve("other.safetensors");
        ResNetConfig narrower = ResNetConfig.parse(ModelFile.read(PRETRAINED).state().metadata().get(ResNet.META_CONFIG))
                .withWidths(16, 16, 32, 64, 64);
        try (ResNet m = ResNet.builder(narrower).device(Device.REFERENCE).seed(1).build()) {
            StateDicts.write(m0, m.stateDict());
        }
        Cli.userError(args("reuse", "--before", m0, "--after", fineTuned(), "--data", data(3), "--out", tmp.resolve("o"),
                "--device", "reference", "--no-progress"), "differ in architecture", "layer4.0.conv1.weight");
    }

    @Test
    void missingFilesAndOneClassDataAreUserErrors() throws IOException {
        Path m1 = fineTuned();
        Path data = data(3);
        Cli.userError(args("reuse", "--before", tmp.resolve("nope.pth"), "--after", m1, "--data", data, "--no-progress"), "--before");
        Cli.userError(args("reuse", "--before", PRETRAINED, "--after", tmp.resolve("nope.safetensors"), "--data", data, "--no-progress"),
                "--after");
        Path one = Files.createDirectories(tmp.resolve("one/shirt"));
        Files.copy(DEMO.resolve("task/test/shirt/00007.png"), one.resolve("a.png"));
        Cli.userError(args("reuse", "--before", PRETRAINED, "--after", m1, "--data", one.getParent(), "--device", "reference",
                "--no-progress"), "one class");
    }
}
