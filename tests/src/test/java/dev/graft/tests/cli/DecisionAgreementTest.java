package dev.graft.tests.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.models.DecisionRule;
import dev.graft.runtime.Classifier;
import dev.graft.runtime.Prediction;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft predict} and the runtime's {@link Classifier} read the same model file and must give the same label
 * and the same probabilities for every image: both decide through {@link DecisionRule}, both run the folded and
 * fused inference plan on the same backend, and both take the softmax in double. The CLI prints the double
 * probabilities; the runtime returns them rounded to float, so the comparison is {@code (float) cli == runtime},
 * exactly: the measured difference is 0 on both the reference and the cpu (oneDNN) backend.
 */
class DecisionAgreementTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int IMAGES = 10;

    @TempDir
    Path dir;

    record Result(List<String> labels, List<float[]> probabilities) {
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void withoutThresholdMetadataBothTakeTheMostProbableClass(String device) throws IOException {
        List<Path> images = DecisionFixtures.images(dir.resolve("images"), IMAGES);
        Path model = DecisionFixtures.model(dir.resolve("argmax.safetensors"), 5, Map.of());
        Result cli = predict(device, model, images);
        assertAgree(runtime(device, model, images), cli);
        for (int i = 0; i < IMAGES; i++) {
            float[] p = cli.probabilities().get(i);
            assertEquals(p[1] > p[0] ? "pneumonia" : "normal", cli.labels().get(i), "argmax, image " + i);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void aThresholdOnANonDefaultPositiveClassDecidesInBoth(String device) throws IOException {
        List<Path> images = DecisionFixtures.images(dir.resolve("images"), IMAGES);
        Path plain = DecisionFixtures.model(dir.resolve("argmax.safetensors"), 5, Map.of());
        Result argmax = predict(device, plain, images);
        // Positive class "normal" (index 0, not the default 1); threshold between two images' P(normal) on the side
        // of 0.5 that flips at least one of them, so the rule, not argmax, decides.
        double t = flippingThreshold(argmax);
        Path ruled = DecisionFixtures.model(dir.resolve("ruled.safetensors"), 5,
                Map.of(DecisionRule.META_THRESHOLD, Double.toString(t), DecisionRule.META_POSITIVE_CLASS, "normal"));
        Result cli = predict(device, ruled, images);
        assertAgree(runtime(device, ruled, images), cli);
        assertNotEquals(argmax.labels(), cli.labels(), "threshold " + t + " changes at least one label");
        for (int i = 0; i < IMAGES; i++) {
            assertEquals(cli.probabilities().get(i)[0] >= t ? "normal" : "pneumonia", cli.labels().get(i), "image " + i);
        }
        // --threshold replaces the file's threshold the same way (checked against the rule by hand).
        Result override = predict(device, ruled, images, "--threshold", "0");
        assertTrue(override.labels().stream().allMatch("normal"::equals), "P(normal) >= 0 always: " + override.labels());
    }

    /**
     * A model adapted to one input channel ({@code ResNet.adaptToGrayscale}) gets the same input from both: the first
     * normalised channel, as training feeds it (dev.graft.train.Batches). The runtime used to average the three
     * normalised channels, so its probabilities differed from those of the model as trained.
     */
    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void aGrayscaleModelGetsTheInputItWasTrainedOn(String device) throws IOException {
        List<Path> images = DecisionFixtures.images(dir.resolve("images"), IMAGES);
        Path model = DecisionFixtures.model(dir.resolve("gray.safetensors"), 7, Map.of(), m -> m.adaptToGrayscale());
        assertAgree(runtime(device, model, images), predict(device, model, images));
    }

    /** Same labels; probabilities equal as floats (the largest difference is in the failure message). */
    private static void assertAgree(Result runtime, Result cli) {
        assertEquals(cli.labels(), runtime.labels(), "labels: graft predict vs Classifier");
        double worst = 0;
        for (int i = 0; i < cli.probabilities().size(); i++) {
            float[] a = cli.probabilities().get(i);
            float[] b = runtime.probabilities().get(i);
            assertEquals(a.length, b.length);
            for (int k = 0; k < a.length; k++) {
                worst = Math.max(worst, Math.abs(a[k] - b[k]));
            }
        }
                assertEquals(0.0, worst, "max |P(graft predict) - P(Classifier)|");
    }

    /** Midway between the P(normal) nearest 0.5 on the minority side and its neighbour further out (or 0 / 1). */
    private static double flippingThreshold(Result argmax) {
        List<Double> below = new ArrayList<>();
        List<Double> above = new ArrayList<>();
        for (float[] p : argmax.probabilities()) {
            (p[0] < 0.5 ? below : above).add((double) p[0]);
        }
        below.sort(null);
        above.sort(null);
        if (!below.isEmpty()) { // the largest P(normal) below 0.5 becomes "normal"
            double hi = below.get(below.size() - 1);
            double lo = below.size() > 1 ? below.get(below.size() - 2) : 0;
            return (hi + lo) / 2;
        }
        double lo = above.get(0); // every image is "normal": the smallest P(normal) becomes "pneumonia"
        double hi = above.size() > 1 ? above.get(1) : 1;
        return (hi + lo) / 2;
    }

    private static Result predict(String device, Path model, List<Path> images, String... extra) throws IOException {
        List<Object> args = new ArrayList<>(List.of("predict", "--model", model, "--json", "--device", device));
        args.addAll(List.of(extra));
        args.addAll(images);
        Cli.Run r = Cli.ok(args.toArray());
        JsonNode rows = JSON.readTree(r.out());
        List<String> labels = new ArrayList<>();
        List<float[]> probs = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            JsonNode row = rows.get(i);
            assertEquals(images.get(i).toString(), row.get("file").asText());
            labels.add(row.get("predicted").asText());
            float[] p = new float[DecisionFixtures.CLASSES.size()];
            for (int k = 0; k < p.length; k++) {
                p[k] = (float) row.get("probabilities").get(DecisionFixtures.CLASSES.get(k)).asDouble();
            }
            probs.add(p);
        }
        return new Result(labels, probs);
    }

    private static Result runtime(String device, Path model, List<Path> images) {
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withDevice(device))) {
            List<String> labels = new ArrayList<>();
            List<float[]> probs = new ArrayList<>();
            for (Path img : images) {
                Prediction p = c.classify(img);
                labels.add(p.label());
                probs.add(p.probabilities());
            }
            return new Result(labels, probs);
        }
    }
}
