package dev.graft.tests.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.models.Temperature;
import dev.graft.runtime.Classifier;
import dev.graft.runtime.Prediction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model file with {@code graft.temperature} T gives probabilities softmax(logits / T) in the runtime's
 * {@link Classifier}, in {@code graft predict} and in {@code graft evaluate}; the same weights without the key give the
 * plain softmax. Checked on the reference backend (the agreement of backends is DecisionAgreementTest's).
 */
class TemperatureAgreementTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double T = 0.4; // sharpens: the tiny random network's logits are small, so the change is visible

    @TempDir
    Path dir;

    @Test
    void runtimeAndPredictApplySoftmaxOfLogitsOverT() throws IOException {
        List<Path> images = DecisionFixtures.images(dir.resolve("images"), 6);
        Path plain = DecisionFixtures.model(dir.resolve("plain.safetensors"), 5, Map.of());
        Path scaled = DecisionFixtures.model(dir.resolve("scaled.safetensors"), 5, Map.of(Temperature.META_TEMPERATURE, Double.toString(T)));
        List<Prediction> withT = classify(scaled, images);
        List<Prediction> withoutT = classify(plain, images);
        JsonNode cli = JSON.readTree(Cli.ok(cliArgs(scaled, images)).out());
        double moved = 0;
        for (int i = 0; i < images.size(); i++) {
            float[] z = withT.get(i).logits();
            assertEquals(List.of(z[0], z[1]), List.of(withoutT.get(i).logits()[0], withoutT.get(i).logits()[1]), "same weights, same logits");
            // The definition, by hand: exp(z_k / T) / sum_j exp(z_j / T). Float rounding of the returned probability: 1e-7.
            double e0 = Math.exp(z[0] / T), e1 = Math.exp(z[1] / T);
            double[] expected = {e0 / (e0 + e1), e1 / (e0 + e1)};
            for (int k = 0; k < 2; k++) {
                assertEquals(expected[k], withT.get(i).probabilities()[k], 1e-7, "runtime, image " + i);
                double p = cli.get(i).get("probabilities").get(DecisionFixtures.CLASSES.get(k)).asDouble();
                assertEquals(expected[k], p, 1e-12, "graft predict, image " + i);
                assertEquals((float) p, withT.get(i).probabilities()[k], "graft predict and the runtime agree as floats");
            }
            moved = Math.max(moved, Math.abs(withT.get(i).probabilities()[1] - withoutT.get(i).probabilities()[1]));
        }
        assertTrue(moved > 0.01, "T changes the probabilities: " + moved);
    }

    @Test
    void evaluateReportsTheTemperatureIntervalsAndCalibration() throws IOException {
        List<Path> images = DecisionFixtures.images(dir.resolve("images"), 12);
        Path data = dir.resolve("data");
        for (int i = 0; i < images.size(); i++) {
            Path to = data.resolve(DecisionFixtures.CLASSES.get(i % 2)).resolve(images.get(i).getFileName());
            Files.createDirectories(to.getParent());
            Files.copy(images.get(i), to);
        }
        Path scaled = DecisionFixtures.model(dir.resolve("scaled.safetensors"), 5, Map.of(Temperature.META_TEMPERATURE, Double.toString(T)));
        Cli.Run r = Cli.ok("evaluate", "--model", scaled, "--data", data, "--out", dir.resolve("eval"), "--device", "reference",
                "--bootstrap", "200", "--no-progress");
        assertTrue(r.out().contains("softmax(logits / T), T = 0.4"), r.out());
        assertTrue(r.out().contains("DeLong") && r.out().contains("ECE"), r.out());
        JsonNode json = JSON.readTree(dir.resolve("eval/metrics.json").toFile());
        assertEquals(T, json.get("temperature").asDouble());
        JsonNode m = json.get("metrics");
        assertTrue(m.get("roc_auc").isNumber() && m.get("accuracy").isNumber(), "the existing keys stay numbers");
        JsonNode ci = m.get("roc_auc_ci95");
        assertTrue(ci.get(0).asDouble() <= m.get("roc_auc").asDouble() && m.get("roc_auc").asDouble() <= ci.get(1).asDouble(), ci.toString());
        assertEquals(200, m.get("confidence_intervals").get("bootstrap").get("resamples").asInt());
        assertTrue(m.get("calibration").get("ece").isNumber());
        assertTrue(Files.isRegularFile(dir.resolve("eval/plots/reliability.png")));
        assertTrue(Files.isRegularFile(dir.resolve("eval/plots/roc.png")));
        Cli.userError(Cli.args("evaluate", "--model", scaled, "--data", data, "--bootstrap", "-1"), "--bootstrap", "-1");
        Cli.userError(Cli.args("evaluate", "--model", scaled, "--data", data, "--bootstrap", "100001"), "--bootstrap");
    }

    private static Object[] cliArgs(Path model, List<Path> images) {
        List<Object> a = new ArrayList<>(List.of("predict", "--model", model, "--json", "--device", "reference"));
        a.addAll(images);
        return a.toArray();
    }

    private static List<Prediction> classify(Path model, List<Path> images) {
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withDevice("reference"))) {
            List<Prediction> out = new ArrayList<>();
            for (Path img : images) {
                out.add(c.classify(img));
            }
            return out;
        }
    }
}
