package dev.graft.tests.cli;

import dev.graft.engine.Tensor;
import dev.graft.models.ModelMetadata;
import dev.graft.models.ModelMetadataException;
import dev.graft.models.NonFiniteOutputException;
import dev.graft.models.ResNet;
import dev.graft.runtime.Classifier;
import dev.graft.runtime.ModelFileException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model file whose metadata breaks a rule of {@link ModelMetadata} is refused the same way by {@code graft predict},
 * {@code graft evaluate} and the runtime, before any image is read: a typed error naming the file, the key and the
 * value (exit code 2 and that one line on the command line; in the runtime a {@link ModelFileException} with the same
 * message, caused by the {@link ModelMetadataException}). Each case is one observed before: crashes, out-of-memory
 * errors, a 30-second build of a 20000-block network, or a confident answer (P=0.887 for every image). And an image
 * whose output is NaN or infinite gets an error naming it, never a class.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ModelFileValidationTest {
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
            "graft.image_size  | 30000                 | the image size 30000 is outside [8, 4096] pixels",
            "graft.image_size  | 100000                | the image size 100000 is outside [8, 4096] pixels",
            "graft.resize_size | 40000                 | the resize size 40000 is outside [image size 32, 4096] pixels",
            "graft.mean        | NaN,NaN,NaN           | NaN is not a finite number",
            "graft.std         | 1e-45,1e-45,1e-45     | 1e-45 is below 1.0E-6",
            "graft.classes     | [\"normal\",\"normal\"] | repeats the class name 'normal'",
            "graft.resnet      | block=basic layers=20000,1,1,1 groups=1 width_per_group=64 stem=8 planes=8,16,16,32 classes=2 in_channels=3"
                    + " | a ResNet stage has at most 64 blocks"})
    void badMetadataIsTheSameTypedErrorInTheCliAndTheRuntime(String key, String value, String reason) {
        Path model = DecisionFixtures.model(dir.resolve("bad.safetensors"), 1, Map.of(key, value));
        ModelFileException e = assertThrows(ModelFileException.class,
                () -> Classifier.load(model, Classifier.Options.defaults().withDevice("reference")));
        assertInstanceOf(ModelMetadataException.class, e.getCause());
        assertEquals(e.getCause().getMessage(), e.getMessage());
        String shown = value.length() > 80 ? value.substring(0, 77) + "..." : value;
        assertTrue(e.getMessage().startsWith(model + ": metadata " + key + " = '" + shown + "'"), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());

        Cli.Run predict = Cli.userError(Cli.args("predict", "--model", model, "--device", "reference", image), reason);
        assertEquals("graft predict: error: " + e.getMessage(), predict.err().strip());
        Cli.Run evaluate = Cli.userError(Cli.args("evaluate", "--model", model, "--data", data, "--out", dir.resolve("eval"),
                "--device", "reference", "--no-progress"), reason);
        assertEquals("graft evaluate: error: " + e.getMessage(), evaluate.err().strip());
    }

    @ParameterizedTest
    @ValueSource(floats = {Float.NaN, Float.POSITIVE_INFINITY})
    void anImageWhoseOutputIsNotFiniteIsAnErrorNamingItNeverAClass(float bad) throws Exception {
        Path model = DecisionFixtures.model(dir.resolve("nan.safetensors"), 1, Map.of(), m -> set(m.fc().bias().tensor(), bad, 0f));
        String reason = "the model's output is not finite";

        Cli.Run predict = Cli.run("predict", "--model", model, "--csv", "--device", "reference", image);
        assertEquals(2, predict.exitCode(), predict::toString);
        List<String> lines = predict.out().strip().lines().toList();
        assertEquals(2, lines.size(), predict::toString);
        assertTrue(lines.get(1).startsWith(image + ",,,,\"" + image + ": " + reason), lines.get(1));
        Cli.userError(Cli.args("evaluate", "--model", model, "--data", data, "--out", dir.resolve("eval"), "--device", "reference",
                "--no-progress"), data.resolve("normal/0.png") + ": " + reason);
        assertTrue(Files.notExists(dir.resolve("eval/metrics.json")), "no metrics from outputs that are not numbers");

        for (boolean optimized : new boolean[] {true, false}) {
            try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withDevice("reference").withOptimize(optimized))) {
                NonFiniteOutputException e = assertThrows(NonFiniteOutputException.class,
                        () -> c.classify(List.of(javax.imageio.ImageIO.read(image.toFile()), javax.imageio.ImageIO.read(image.toFile()))));
                assertTrue(e.getMessage().startsWith("image 0: " + reason), e.getMessage());
                NonFiniteOutputException named = assertThrows(NonFiniteOutputException.class, () -> c.classify(image));
                assertTrue(named.getMessage().startsWith("image " + image + ": " + reason), named.getMessage());
            }
        }
    }

    private static void set(Tensor t, float... values) {
        t.data().backend().copyFromHost(t.data(), values);
    }
}
