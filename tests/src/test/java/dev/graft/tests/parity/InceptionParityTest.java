package dev.graft.tests.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.Tensor;
import dev.graft.models.ArchitectureInference;
import dev.graft.models.BatchNorm2d;
import dev.graft.models.Conv2d;
import dev.graft.models.InferencePlan;
import dev.graft.models.Linear;
import dev.graft.models.Module;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * torchvision's own {@code inception_v3} at its real widths against Graft's, with the deterministic weights that
 * {@code tests/src/test/fixtures/make_inception_fixtures.py} describes (both sides fill every tensor by the same integer
 * rule; only torch's outputs are committed). Tolerances are relative to each compared array's largest magnitude (its
 * root mean square for gradient entries): float32 rounding through 94 convolutions in a different summation order.
 * Eval logits (float32) 1e-4. Train mode is compared in float64 on both sides (the fixture script says why: batch
 * statistics over few values make float32 gradients ill-conditioned, torch against itself differs by 1.2x an entry's
 * rms): logits, loss and running statistics 1e-6, gradients 1e-4 of their tensor's rms (double rounding through ~100
 * layers, amplified by the same conditioning). Measured deviations are printed.
 */
class InceptionParityTest {
    static final double EVAL = 1e-4;
    static final double TRAIN = 1e-6;
    static final double GRAD = 1e-4;

    private static JsonNode fixture(String name) throws IOException {
        return new ObjectMapper().readTree(Files.readString(RawFixture.resourcePath(name)));
    }

    /** The fixture script's rule for element j of the k-th state tensor: in [-0.5, 0.5). */
    static double u(long k, long j) {
        long h = (j * 2654435761L + k * 40503L + 12345L) & 0xFFFFFFFFL;
        h ^= h >>> 15;
        h = (h * 2246822519L) & 0xFFFFFFFFL; // the low 32 bits, as torch's int64 product modulo 2^32
        h ^= h >>> 13;
        return h / 4294967296.0 - 0.5;
    }

    /** Fills every parameter and running statistic as make_inception_fixtures.py's fill() does. */
    static void fill(ResNet m) {
        int k = 0;
        for (Map.Entry<String, Tensor> e : m.namedState().entrySet()) {
            String key = e.getKey();
            if (key.endsWith("num_batches_tracked")) {
                continue;
            }
            Tensor t = e.getValue();
            String leaf = key.substring(key.lastIndexOf('.') + 1);
            Module owner = m.module(key.substring(0, key.lastIndexOf('.')));
            int n = t.numel();
            float[] v = new float[n];
            for (int j = 0; j < n; j++) {
                double x = u(k, j);
                double value;
                if (owner instanceof Conv2d) { // (float) then widened: an F64 model holds the same float32 values
                    value = x * Math.sqrt(24.0 / (n / t.shape().dim(0)));
                } else if (owner instanceof BatchNorm2d) {
                    value = switch (leaf) {
                        case "weight" -> 1 + 0.2 * x;
                        case "bias" -> 0.2 * x;
                        case "running_mean" -> 0.1 * x;
                        case "running_var" -> 1 + 0.4 * x;
                        default -> throw new IllegalStateException(key);
                    };
                } else if (owner instanceof Linear l) {
                    value = x * Math.sqrt(12.0 / l.inFeatures());
                } else {
                    throw new IllegalStateException(key);
                }
                v[j] = (float) value;
            }
            if (t.dtype() == DType.F64) {
                double[] wide = new double[n];
                for (int i = 0; i < n; i++) {
                    wide[i] = v[i];
                }
                try (Scope tmp = Scope.open("fill")) {
                    t.data().backend().copyInto(t.data(), t.data().backend().fromHost(wide, t.shape(), DType.F64));
                }
            } else {
                t.data().backend().copyFromHost(t.data(), v);
            }
            t.data().buffer().bumpVersion();
            k++;
        }
    }

    /** The fixture script's images: ((j * 7 + 3) % 255) / 127.5 - 1 over [n, 3, size, size]. */
    static Tensor images(Device device, int n, int size) {
        return images(device, DType.F32, n, size);
    }

    static Tensor images(Device device, DType dtype, int n, int size) {
        double[] x = new double[n * 3 * size * size];
        for (int j = 0; j < x.length; j++) {
            x[j] = (float) (((j * 7L + 3) % 255) / 127.5 - 1);
        }
        return Tensor.fromArray(device, dtype, x, n, 3, size, size);
    }

    /** The fixture's network; without the auxiliary head, the same weights with AuxLogits.* left out (as torch's side). */
    static ResNet model(boolean aux, Device device) {
        return model(aux, device, DType.F32);
    }

    static ResNet model(boolean aux, Device device, DType dtype) {
        ResNetConfig config = ResNetConfig.named("inception_v3", 10);
        ResNet m = ResNet.builder(config).device(device).dtype(dtype).initialize(false).build();
        m.setDropout(0, 0); // torch's side sets dropout.p = 0: a random mask cannot be compared
        fill(m);
        if (aux) {
            return m;
        }
        try (m) {
            ResNet without = ResNet.builder(config.withAuxLogits(false)).device(device).dtype(dtype).initialize(false).build();
            without.setDropout(0, 0);
            without.load(m.stateDict(), false);
            return without;
        }
    }

    static double compare(String what, float[] ours, JsonNode theirs, double tolerance) {
        assertEquals(theirs.size(), ours.length, what + " size");
        double max = 0;
        for (JsonNode v : theirs) {
            max = Math.max(max, Math.abs(v.asDouble()));
        }
        double worst = 0;
        for (int i = 0; i < ours.length; i++) {
            worst = Math.max(worst, Math.abs(ours[i] - theirs.get(i).asDouble()) / max);
        }
        System.out.printf("%s: largest deviation %.2e of max |value| %.3g%n", what, worst, max);
        assertTrue(worst <= tolerance, what + " deviates " + worst + " > " + tolerance);
        return worst;
    }

    static void compareGradients(ResNet m, JsonNode grads) {
        Map<String, Parameter> params = new LinkedHashMap<>(m.namedParameters());
        if (!m.hasAuxHead() || grads.has("AuxLogits.fc.weight")) {
            assertTrue(m.hasAuxHead() == grads.has("AuxLogits.fc.weight"), "auxiliary head on one side only");
        } else { // not run: no gradient reaches it
            params.keySet().removeIf(k -> {
                if (k.startsWith("AuxLogits.")) {
                    assertNull(params.get(k).tensor().grad(), k + " has a gradient though the auxiliary head did not run");
                    return true;
                }
                return false;
            });
        }
        List<String> missing = new ArrayList<>();
        grads.fieldNames().forEachRemaining(n -> {
            if (!params.containsKey(n)) {
                missing.add(n);
            }
        });
        assertTrue(missing.isEmpty(), "torch parameters Graft does not have: " + missing);
        assertEquals(grads.size(), params.size(), "parameter count");
        double worst = 0;
        String worstName = "";
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            JsonNode g = grads.get(e.getKey());
            Tensor grad = e.getValue().tensor().grad();
            assertNotNull(grad, e.getKey() + " has no gradient");
            double[] d = grad.toDoubleArray();
            double sum = 0;
            double sumsq = 0;
            for (double x : d) {
                sum += x;
                sumsq += x * x;
            }
            double norm = Math.sqrt(g.get("sumsq").asDouble());
            double rms = norm / Math.sqrt(d.length);
            double dev = Math.max(Math.abs(sum - g.get("sum").asDouble()) / norm,
                    Math.abs(Math.sqrt(sumsq) - norm) / norm);
            for (JsonNode at : g.get("at")) {
                dev = Math.max(dev, Math.abs(d[at.get(0).asInt()] - at.get(1).asDouble()) / rms);
            }
            if (dev > worst) {
                worst = dev;
                worstName = e.getKey();
            }
        }
        System.out.printf("gradients of %d parameters: largest deviation %.2e (%s)%n", params.size(), worst, worstName);
        assertTrue(worst <= GRAD, "gradient of " + worstName + " deviates " + worst);
    }

    static void compareRunning(ResNet m, JsonNode running) {
        double worst = 0;
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) running::fields) {
            BatchNorm2d bn = (BatchNorm2d) m.module(e.getKey());
            double mean = sum(bn.namedState().get("running_mean").toDoubleArray());
            double var = sum(bn.namedState().get("running_var").toDoubleArray());
            worst = Math.max(worst, Math.abs(mean - e.getValue().get(0).asDouble()) / Math.max(1, Math.abs(e.getValue().get(0).asDouble())));
            worst = Math.max(worst, Math.abs(var - e.getValue().get(1).asDouble()) / Math.abs(e.getValue().get(1).asDouble()));
        }
        System.out.printf("running statistics of %d batch norms: largest deviation %.2e%n", running.size(), worst);
        assertTrue(worst <= TRAIN, "running statistics deviate " + worst);
    }

    private static double sum(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s;
    }

    private static int[] labels(JsonNode f) {
        int[] l = new int[f.get("labels").size()];
        for (int i = 0; i < l.length; i++) {
            l[i] = f.get("labels").get(i).asInt();
        }
        return l;
    }

    @Test
    void stateDictNamesShapesAndOrderEqualTorchvisions() throws IOException {
        Map<String, List<TorchvisionKeysTest.Entry>> listing = TorchvisionKeysTest.listing("inception_v3_keys.txt.gz");
        List<TorchvisionKeysTest.Entry> entries = listing.get("inception_v3");
        try (ResNet m = ResNet.builder("inception_v3").initialize(false).build()) {
            Map<String, Tensor> state = m.namedState();
            assertEquals(entries.stream().map(TorchvisionKeysTest.Entry::key).toList(), List.copyOf(state.keySet()));
            Map<String, Shape> shapes = new LinkedHashMap<>();
            for (TorchvisionKeysTest.Entry e : entries) {
                assertEquals(e.shape(), state.get(e.key()).shape(), e.key());
                assertEquals(e.dtype(), state.get(e.key()).dtype() == DType.I64 ? "int64" : "float32", e.key());
                shapes.put(e.key(), e.shape());
            }
            // torchvision's inception_v3 parameter count (Inception_V3_Weights.meta num_params = 27161264)
            assertEquals(27_161_264, m.parameterCount());
            assertEquals(shapes, InferencePlan.stateShapes(m.config()));
            ResNetConfig found = ArchitectureInference.infer(shapes);
            assertEquals(m.config(), found);
            Map<String, Shape> noAux = new LinkedHashMap<>(shapes);
            noAux.keySet().removeIf(k -> k.startsWith("AuxLogits."));
            assertFalse(ArchitectureInference.infer(noAux).auxLogits());
        }
    }

    /** Eval logits at 75x75 (torchvision's minimum), through the fused inference plan and through the modules. */
    @Test
    void evalLogitsMatchTorchvision() throws IOException {
        JsonNode f = fixture("inception_v3_75.json");
        Device device = Device.parse(System.getProperty("inception.device", "cpu"));
        try (Scope s = Scope.open("inception parity"); ResNet m = model(true, device)) {
            Tensor x = images(device, 2, 75);
            m.eval();
            try (Grad.Mode off = Grad.off()) {
                float[] fused = m.forward(x).toFloatArray();
                m.setFusedInference(false);
                float[] modules = m.forward(x).toFloatArray();
                compare("eval logits (fused inference plan)", fused, f.get("eval_logits"), EVAL);
                compare("eval logits (modules)", modules, f.get("eval_logits"), EVAL);
            }
            assertNull(m.takeAuxLogits(), "no auxiliary logits in eval mode");
        }
    }

    /**
     * Train mode at 107x107 in float64 (reference backend, about 15 s on 2 cores, hence slow): logits, loss, every
     * parameter's gradient, running statistics after the step.
     */
    @Test
    @Tag("slow")
    void trainModeMatchesTorchvisionInFloat64() throws IOException {
        JsonNode f = fixture("inception_v3_75.json");
        try (Scope s = Scope.open("inception parity train"); ResNet m = model(true, Device.REFERENCE, DType.F64)) {
            Tensor x = images(Device.REFERENCE, DType.F64, 2, f.get("train_size").asInt());
            m.setAuxTraining(false); // torch's side: the same weights without AuxLogits (it cannot run below 299x299)
            m.train();
            Tensor logits = m.forward(x);
            compare("train logits", logits.toFloatArray(), f.get("train_logits"), TRAIN);
            Tensor loss = Functional.crossEntropy(logits, labels(f));
            assertEquals(f.get("loss").asDouble(), loss.item(), TRAIN * f.get("loss").asDouble(), "loss");
            loss.backward();
            compareGradients(m, f.get("grads"));
            compareRunning(m, f.get("running"));
        }
    }

    /**
     * 299x299 in train mode (float64, reference backend: minutes) with the auxiliary head: logits, aux logits, loss with
     * weight 0.4, every gradient, running statistics.
     */
    @Test
    @Tag("slow")
    void fullSizeTrainingWithAuxiliaryHeadMatchesTorchvision() throws IOException {
        JsonNode f = fixture("inception_v3_299.json");
        Device device = Device.REFERENCE; // float64 runs on the reference backend only
        try (Scope s = Scope.open("inception parity 299"); ResNet m = model(true, device, DType.F64)) {
            m.train();
            Tensor logits = m.forward(images(device, DType.F64, 2, 299));
            Tensor aux = m.takeAuxLogits();
            assertNotNull(aux, "training runs the auxiliary head");
            compare("train logits 299", logits.toFloatArray(), f.get("train_logits"), TRAIN);
            compare("aux logits 299", aux.toFloatArray(), f.get("aux_logits"), TRAIN);
            int[] labels = labels(f);
            Tensor loss = Functional.add(Functional.crossEntropy(logits, labels),
                    Functional.scale(Functional.crossEntropy(aux, labels), f.get("aux_weight").asDouble()));
            assertEquals(f.get("loss").asDouble(), loss.item(), TRAIN * f.get("loss").asDouble(), "loss");
            loss.backward();
            compareGradients(m, f.get("grads"));
            compareRunning(m, f.get("running"));
        }
    }
}
