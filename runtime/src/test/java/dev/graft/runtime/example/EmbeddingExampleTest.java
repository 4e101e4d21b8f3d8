package dev.graft.runtime.example;

import dev.graft.runtime.Classifier;
import dev.graft.runtime.Prediction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The embedding example of {@code README.md} and {@code docs/embedding.md} is {@link ClassifyXray}, character for
 * character (each document's first Java block equals the class's source without its package line), and running it
 * on a model file and a PNG prints the label and probability the classifier gives.
 */
class EmbeddingExampleTest {
    private static final List<Path> DOCS = List.of(Path.of("..", "README.md"), Path.of("..", "docs", "embedding.md"));
    private static final Path SOURCE = Path.of("src", "test", "java", "dev", "graft", "runtime", "example", "ClassifyXray.java");

    @TempDir
    Path dir;

    @Test
    void theDocumentedCodeIsThisClass() throws IOException {
        String source = Files.readString(SOURCE).replaceFirst("(?s)^package [^;]+;\\s*", "");
        for (Path doc : DOCS) {
            Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(doc));
            if (!m.find()) {
                throw new AssertionError(doc + " has no ```java block");
            }
            assertEquals(source, m.group(1), doc + " and ClassifyXray.java differ");
        }
    }

    @Test
    void theExampleClassifiesAnImage() throws Exception {
        Path model = ExampleFiles.model(dir.resolve("xray-resnet18.safetensors"));
        Path image = dir.resolve("chest.png");
        ImageIO.write(ExampleFiles.xray(), "png", image.toFile());

        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            ClassifyXray.main(new String[] {model.toString(), image.toString()});
        } finally {
            System.setOut(original);
        }

        Prediction expected;
        try (Classifier c = Classifier.load(model)) {
            expected = c.classify(ImageIO.read(image.toFile()));
        }
        assertEquals(String.format(Locale.getDefault(), "%s %.3f%n", expected.label(), expected.probability()),
                captured.toString(StandardCharsets.UTF_8));
    }
}
