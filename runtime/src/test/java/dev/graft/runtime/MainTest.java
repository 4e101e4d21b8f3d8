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
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command: one line per image, exit status 0; 1 with one error line per bad file, after the results; 2 for bad usage. */
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

    /**
     * The first image is read on its own thread while the model loads (FirstImage); its line must still be the
     * model's answer: against the unoptimised classifier on the reference backend (plain Java, unfolded) as oracle.
     * Tolerance 1e-4 on the probability: the line rounds it to 4 decimals (5e-5) and the folded, fused pass differs
     * from the unfolded one by about 1e-6 relative (ClassifierEqualityTest). The same image given again, read on the
     * main thread, prints the same line.
     */
    @Test
    void theImageReadAheadGetsTheOraclesAnswer() throws IOException {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(3);
        Path model = ModelFiles.write(dir.resolve("m.safetensors"), config, 7, 32,
                Map.of(ModelInfo.META_CLASSES, "[\"a\",\"b\",\"c\"]"));
        Path a = dir.resolve("a.png");
        ImageIO.write(ModelFiles.image(70, 50, 3), "png", a.toFile());
        Run r = run(model.toString(), a.toString(), a.toString());
        assertEquals(0, r.status(), r.err());
        String[] lines = r.out().trim().split("\\n");
        assertEquals(2, lines.length, r.out());
        assertEquals(lines[0], lines[1], "read ahead and read on the main thread");
        String[] f = lines[0].split("\t");
        Prediction oracle;
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withDevice("reference").withOptimize(false))) {
            oracle = c.classify(a);
        }
        float[] p = oracle.probabilities().clone();
        java.util.Arrays.sort(p);
        if (p[p.length - 1] - p[p.length - 2] > 1e-3) { // the label is decided
            assertEquals(oracle.label(), f[1], lines[0]);
        }
        assertEquals(oracle.probability(), Double.parseDouble(f[2]), 1e-4, lines[0]);
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
        assertTrue(r.err().contains("header read at"), r.err());
        assertTrue(r.err().contains("# " + a + ": ") && r.err().contains("ms; first image read on its own thread from"), r.err());
    }

    /** --precision: a bad name is bad usage (2); int8 on an fp32 file is a load error (1) that says what to run. */
    @Test
    void precisionOption() throws IOException {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
        Path model = ModelFiles.write(dir.resolve("m.safetensors"), config, 4, 32,
                Map.of(ModelInfo.META_CLASSES, "[\"NORMAL\",\"PNEUMONIA\"]"));
        Path a = dir.resolve("a.png");
        ImageIO.write(ModelFiles.image(50, 40, 1), "png", a.toFile());
        Run bad = run("--precision", "fp16", model.toString(), a.toString());
        assertEquals(2, bad.status(), bad.err());
        assertTrue(bad.err().contains("unknown precision 'fp16'"), bad.err());
        Run int8 = run("--device", "reference", "--precision", "int8", model.toString(), a.toString());
        assertEquals(1, int8.status(), int8.err());
        assertTrue(int8.err().contains("run graft quantize first"), int8.err());
        Run bf16 = run("--device", "reference", "--precision", "bf16", model.toString(), a.toString());
        assertEquals(0, bf16.status(), bf16.err());
    }

    /**
     * A CPU without bf16 instructions (emulated with oneDNN's ONEDNN_MAX_CPU_ISA=AVX2, in a child JVM since oneDNN reads
     * it once) refuses bf16 with the reason and the way out, exit 1; int8 still runs there.
     */
    @Test
    void bf16IsRefusedWithoutBf16Instructions() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.graft.engine.backend.Backends.availability(
                dev.graft.engine.Device.Kind.CPU).available(), "oneDNN not on the class path");
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
        Path model = ModelFiles.write(dir.resolve("m.safetensors"), config, 4, 32,
                Map.of(ModelInfo.META_CLASSES, "[\"NORMAL\",\"PNEUMONIA\"]"));
        Path a = dir.resolve("a.png");
        ImageIO.write(ModelFiles.image(50, 40, 1), "png", a.toFile());
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "--device", "cpu", "--precision", "bf16",
                model.toString(), a.toString());
        pb.environment().put("ONEDNN_MAX_CPU_ISA", "AVX2");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.waitFor(), out);
        assertTrue(out.contains("bf16 inference needs a CPU with bfloat16 instructions") && out.contains("use --precision fp32 or int8"),
                out);
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
        Run r = run("--device", "reference", model.toString(), cut.toString(), png.toString());
        assertEquals(1, r.status(), r.err());
        // The failure does not stop the images after it; its one line comes after the results.
        assertTrue(r.out().startsWith(png + "\t") && r.out().lines().count() == 1, r.out());
        List<String> err = r.err().lines().toList();
        assertEquals(3, err.size(), r.err());
        assertEquals("# decision: most probable class (the model file sets no threshold)", err.get(0));
        assertTrue(err.get(1).startsWith("error: image " + cut + " is truncated or damaged"), err.get(1));
        assertEquals("error: 1 of 2 images could not be classified", err.get(2));
    }

    /**
     * A folder stands for the images under it, at any depth, sorted by path (byte order: upper case first); other
     * files are skipped; arguments keep their order; a broken image and a folder without images are reported after
     * the results, in their places' order, and the exit status is 1. The expected order is written out by hand.
     */
    @Test
    void foldersAreSearchedInPathOrderAndFailuresComeLast() throws IOException {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
        Path model = ModelFiles.write(dir.resolve("m.safetensors"), config, 4, 32, Map.of(ModelInfo.META_CLASSES,
                "[\"NORMAL\",\"PNEUMONIA\"]", ModelInfo.META_THRESHOLD, "0.845", ModelInfo.META_POSITIVE_CLASS, "PNEUMONIA"));
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("b/sub"));
        Files.createDirectories(dir.resolve("empty/nothing"));
        // Written out of order, so the listing's own order cannot pass for sorting.
        for (String name : new String[] {"b/x.png", "a.jpg", "b/sub/c.bmp", "Z.png"}) {
            String format = name.endsWith(".jpg") ? "jpeg" : name.substring(name.length() - 3);
            ImageIO.write(ModelFiles.image(36, 30, name.length()), format, tree.resolve(name).toFile());
        }
        Files.writeString(tree.resolve("notes.txt"), "not an image");
        byte[] png = Files.readAllBytes(tree.resolve("Z.png"));
        Files.write(tree.resolve("b/broken.png"), java.util.Arrays.copyOf(png, png.length / 2));
        Path single = dir.resolve("single.png");
        ImageIO.write(ModelFiles.image(30, 30, 9), "png", single.toFile());

        Run r = run("--device", "reference", model.toString(), tree.toString(), single.toString(), dir.resolve("empty").toString());
        assertEquals(1, r.status(), r.err());
        List<String> shown = r.out().lines().map(l -> l.split("\t")[0]).toList();
        assertEquals(List.of(tree + "/Z.png", tree + "/a.jpg", tree + "/b/sub/c.bmp", tree + "/b/x.png", single.toString()), shown);
        List<String> err = r.err().lines().toList();
        assertEquals(4, err.size(), r.err());
        assertEquals("# decision: P(PNEUMONIA) >= 0.845 (the model file's rule)", err.get(0));
        assertTrue(err.get(1).startsWith("error: image " + tree + "/b/broken.png is truncated or damaged"), err.get(1));
        assertEquals("error: no images (.png, .jpg, .jpeg, .bmp, .dcm) in folder " + dir.resolve("empty") + " or its sub-folders", err.get(2));
        assertEquals("error: 2 of 7 images could not be classified", err.get(3));
        assertFalse(r.err().contains("no such file"), r.err());
    }

    /** A folder given alone is searched; a missing path says it is missing, naming it. */
    @Test
    void aFolderIsNeverNoSuchFile() throws IOException {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
        Path model = ModelFiles.write(dir.resolve("m.safetensors"), config, 4, 32, Map.of());
        Path images = Files.createDirectories(dir.resolve("images"));
        ImageIO.write(ModelFiles.image(30, 30, 1), "png", images.resolve("one.png").toFile());
        Run ok = run("--device", "reference", model.toString(), images.toString());
        assertEquals(0, ok.status(), ok.err());
        assertTrue(ok.out().startsWith(images.resolve("one.png") + "\t"), ok.out());
        Run missing = run("--device", "reference", model.toString(), dir.resolve("gone").toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("error: no such file or folder: " + dir.resolve("gone")), missing.err());
    }
}
