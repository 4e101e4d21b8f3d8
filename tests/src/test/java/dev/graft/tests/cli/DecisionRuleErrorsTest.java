package dev.graft.tests.cli;

import dev.graft.models.DecisionRule;
import dev.graft.models.DecisionRuleException;
import dev.graft.runtime.Classifier;
import dev.graft.runtime.ModelFileException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad decision metadata, and a bad user threshold, are refused the same way by {@code graft predict},
 * {@code graft evaluate} and the runtime: a {@link DecisionRuleException} (in the runtime the cause of its
 * {@link ModelFileException}, with the same message) naming the key, the value and the fix; exit code 2 and that
 * one line on the command line.
 */
class DecisionRuleErrorsTest {
    @TempDir
    Path dir;
    private Path image;
    private Path data;

    @BeforeEach
    void images() throws Exception {
        image = DecisionFixtures.images(dir.resolve("images"), 1).get(0);
        data = dir.resolve("data");
        for (String c : DecisionFixtures.CLASSES) {
            Files.createDirectories(data.resolve(c));
            Files.copy(image, data.resolve(c).resolve("0.png"));
        }
    }

    @ParameterizedTest(name = "{0} = ''{1}''")
    @CsvSource(delimiter = '|', value = {
            "graft.threshold      | 2         | is not a probability",
            "graft.threshold      | NaN       | is not a probability",
            "graft.threshold      | -Infinity | is not a probability",
            "graft.threshold      | -0.1      | is not a probability",
            "graft.threshold      | half      | is not a number",
            "graft.positive_class | covid     | is neither a class name [normal, pneumonia] nor a class index 0..1",
            "graft.positive_class | 2         | is neither a class name [normal, pneumonia] nor a class index 0..1",
            "graft.positive_class | -1        | is neither a class name [normal, pneumonia] nor a class index 0..1"})
    void badMetadataIsTheSameTypedErrorInTheCliAndTheRuntime(String key, String value, String reason) {
        Path model = DecisionFixtures.model(dir.resolve("bad.safetensors"), 1, Map.of(key, value));
        String what = key + " = '" + value + "' " + reason;

        ModelFileException e = assertThrows(ModelFileException.class,
                () -> Classifier.load(model, Classifier.Options.defaults().withDevice("reference")));
        DecisionRuleException cause = assertInstanceOf(DecisionRuleException.class, e.getCause());
        assertEquals(cause.getMessage(), e.getMessage());
        assertTrue(e.getMessage().startsWith(model + ": metadata " + what), e.getMessage());
        assertTrue(e.getMessage().contains("remove the key"), "says what to do: " + e.getMessage());

        Cli.Run predict = Cli.userError(Cli.args("predict", "--model", model, "--json", "--device", "reference", image), what);
        assertEquals("graft predict: error: " + e.getMessage(), predict.err().strip());
        Cli.Run evaluate = Cli.userError(Cli.args("evaluate", "--model", model, "--data", data, "--out", dir.resolve("eval"),
                "--device", "reference", "--no-progress"), what);
        assertEquals("graft evaluate: error: " + e.getMessage(), evaluate.err().strip());
    }

    @ParameterizedTest
    @ValueSource(strings = {"2", "NaN", "-Infinity", "-0.1"})
    void aBadUserThresholdIsRefusedByPredictEvaluateAndTheRuntimesRule(String value) {
        Path model = DecisionFixtures.model(dir.resolve("ok.safetensors"), 1,
                Map.of(DecisionRule.META_THRESHOLD, "0.3", DecisionRule.META_POSITIVE_CLASS, "normal"));
        String what = "--threshold " + Double.parseDouble(value) + " is not a probability";
        Cli.Run predict = Cli.userError(Cli.args("predict", "--model", model, "--threshold=" + value, "--device", "reference", image),
                what, "[0, 1]", "P(normal) >= 0.3");
        Cli.Run evaluate = Cli.userError(Cli.args("evaluate", "--model", model, "--data", data, "--threshold=" + value,
                "--out", dir.resolve("eval"), "--device", "reference", "--no-progress"), what);
        // The runtime has no --threshold; a caller overriding its rule goes through the same check and message.
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withDevice("reference"))) {
            DecisionRuleException e = assertThrows(DecisionRuleException.class,
                    () -> c.info().decision().withThreshold(Double.parseDouble(value), "--threshold"));
            assertEquals("graft predict: error: " + e.getMessage(), predict.err().strip());
            assertEquals("graft evaluate: error: " + e.getMessage(), evaluate.err().strip());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"predict", "evaluate"})
    void aNonNumericUserThresholdIsAUsageError(String command) {
        Path model = DecisionFixtures.model(dir.resolve("ok.safetensors"), 1, Map.of());
        List<Object> args = command.equals("predict")
                ? List.of(command, "--model", model, "--threshold", "half", image)
                : List.of(command, "--model", model, "--data", data, "--threshold", "half");
        Cli.Run r = Cli.run(args.toArray());
        assertEquals(2, r.exitCode(), r::toString);
        assertTrue(r.err().contains("--threshold") && r.err().contains("half"), r::toString);
    }
}
