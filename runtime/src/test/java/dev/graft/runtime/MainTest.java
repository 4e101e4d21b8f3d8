package dev.graft.runtime;

import dev.graft.models.BlockType;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command: one line per image, exit status 0; 1 with a one-line error for a bad file; 2 for bad usage. */
class MainTest {
    @TempDir
    Path dir;

    private record Run(int status, String out, String err) {
    }

    private static Run run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        try {
            int status = Main.run(args);
            return new Run(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void classifiesEachImage() throws IOException {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
        Path model = ModelFiles.write(dir.resolve("m.safetensors"), config, 4, 32,
                Map.of(ModelInfo.META_CLASSES, "[\"NORMAL\",\"PNEUMONIA\"]"));
        Path a = dir.resolve("a.png");
        Path b = dir.resolve("b.png");
        ImageIO.write(ModelFiles.image(50, 40, 1), "png", a.toFile());
        ImageIO.write(ModelFiles.image(40, 60, 2), "png", b.toFile());
        Run r = run("--device", "reference", "--timing", model.toString(), a.toString(), b.toString());
        assertEquals(0, r.status(), r.err());
        String[] lines = r.out().trim().split("\\n");
        assertEquals(2, lines.length, r.out());
        assertTrue(lines[0].matches(java.util.regex.Pattern.quote(a.toString()) + "\\t(NORMAL|PNEUMONIA)\\t[01]\\.\\d{4}"), lines[0]);
        assertTrue(lines[1].startsWith(b + "\t"), lines[1]);
        assertTrue(r.err().contains("# loaded"), r.err());
    }

    /** Class names come from the model file: a tab, newline or escape sequence is printed escaped, one line per image. */
    @Test
    void hostileClassNamesStayOneLineOfThreeFields() throws IOException {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
        Path model = ModelFiles.write(dir.resolve("m.safetensors"), config, 4, 32,
                Map.of(ModelInfo.META_CLASSES, "[\"a\\tb\\u001b[2J\",\"c\\nfake\\t0.9999\"]"));
        Path a = dir.resolve("a.png");
        ImageIO.write(ModelFiles.image(50, 40, 1), "png", a.toFile());
        Run r = run("--device", "reference", model.toString(), a.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(1, r.out().lines().count(), r.out());
        String[] fields = r.out().strip().split("\t");
        assertEquals(3, fields.length, r.out());
        assertTrue(fields[1].equals("a\\tb\\u001b[2J") || fields[1].equals("c\\nfake\\t0.9999"), fields[1]);
    }

    @Test
    void errorsAndUsage() throws IOException {
        Path notModel = Files.writeString(dir.resolve("model.safetensors"), "garbage");
        Path img = dir.resolve("x.png");
        ImageIO.write(ModelFiles.image(10, 10, 1), "png", img.toFile());
        Run bad = run(notModel.toString(), img.toString());
        assertEquals(1, bad.status());
        assertTrue(bad.err().startsWith("error: cannot read model file"), bad.err());
        assertEquals(2, run(notModel.toString()).status());
        assertEquals(2, run("--frobnicate", notModel.toString(), img.toString()).status());
        assertEquals(1, run(notModel.toString(), dir.resolve("missing.png").toString()).status());
    }

    @Test
    void aTruncatedImageIsAOneLineError() throws IOException {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
        Path model = ModelFiles.write(dir.resolve("m.safetensors"), config, 4, 32, Map.of());
        Path png = dir.resolve("a.png");
        ImageIO.write(ModelFiles.image(50, 40, 1), "png", png.toFile());
        byte[] bytes = Files.readAllBytes(png);
        Path cut = Files.write(dir.resolve("cut.png"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
        Run r = run("--device", "reference", model.toString(), png.toString(), cut.toString());
        assertEquals(1, r.status(), r.err());
        assertTrue(r.out().startsWith(png + "\t"), r.out());
        assertTrue(r.err().startsWith("error: image " + cut + " is truncated or damaged") && r.err().strip().lines().count() == 1, r.err());
    }
}
