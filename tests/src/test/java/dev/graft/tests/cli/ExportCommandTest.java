package dev.graft.tests.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.tests.train.DicomBytes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft export --runtime DIR}: the folder is copied to an empty folder elsewhere (the original deleted, so
 * nothing can point back), and its launcher and jar run there in a new JVM whose class path is only the exported
 * jar (plus the lib/ jars its manifest names), with a cleared environment; each image's label must equal
 * {@code graft predict}'s and its probability agree to 1e-4: the runtime prints 4 decimals (rounding error up to
 * 5e-5) and oneDNN and the reference backend agree to about 1e-6 on this network.
 */
class ExportCommandTest {
    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path tmp;

    @Test
    void exportedFolderClassifiesAsPredictDoesWithOnlyAJre() throws Exception {
        Path model = DecisionFixtures.model(tmp.resolve("m.safetensors"), 7, Map.of());
        List<Path> images = DecisionFixtures.images(tmp.resolve("img"), 4);
        Path first = tmp.resolve("export");
        Cli.Run r = Cli.ok("export", "--model", model, "--runtime", first);
        assertTrue(r.out().contains("classify"), r.toString());
        Path moved = copyTree(first, tmp.resolve("elsewhere").resolve("deployed"));
        deleteTree(first);

        for (String f : List.of("graft-runtime.jar", "model.safetensors", "classify", "classify.bat")) {
            assertTrue(Files.isRegularFile(moved.resolve(f)), f);
        }
        assertTrue(Files.isExecutable(moved.resolve("classify")), "classify is not executable");
        try (Stream<Path> lib = Files.list(moved.resolve("lib"))) {
            assertEquals(6, lib.count(), "javacpp, dnnl and opencl, each plain and linux-x86_64");
        }
        checkJar(moved.resolve("graft-runtime.jar"), true);

        Map<String, Prediction> expected = predict(model, images);
        List<String> launcher = new ArrayList<>(List.of("sh", moved.resolve("classify").toString()));
        images.forEach(i -> launcher.add(i.toString()));
        assertAgrees(expected, run(moved, launcher));

        List<String> jar = new ArrayList<>(List.of(java(), "-jar", "graft-runtime.jar", "model.safetensors", "--device", "reference"));
        images.forEach(i -> jar.add(i.toString()));
        assertAgrees(expected, run(moved, jar));
    }

    @Test
    void withoutOnednnTheFolderRunsOnThePureJavaBackend() throws Exception {
        Path model = DecisionFixtures.model(tmp.resolve("m.safetensors"), 8, Map.of());
        List<Path> images = new ArrayList<>(DecisionFixtures.images(tmp.resolve("img"), 2));
        int[] ramp = new int[40 * 30];
        Arrays.setAll(ramp, i -> (i % 40) * 5 + i / 40); // 0..224
        // A DICOM file: the runtime jar carries the loaders' DICOM reader (no dependency of its own).
        images.add(Files.write(tmp.resolve("img").resolve("scan.dcm"), DicomBytes.gray8(ramp, 40, true)));
        // The same ramp as lossless JPEG (made by loaders' make_fixtures.py with dcmtk): TwelveMonkeys' reader is in the jar.
        images.add(Files.copy(Path.of("../loaders/src/test/resources/dicom/jpeg_lossless_ramp.dcm"),
                tmp.resolve("img").resolve("lossless.dcm")));
        Path dir = tmp.resolve("small");
        Cli.ok("export", "--model", model, "--runtime", dir, "--no-onednn");
        assertFalse(Files.exists(dir.resolve("lib")));
        checkJar(dir.resolve("graft-runtime.jar"), false);
        List<String> cmd = new ArrayList<>(List.of("sh", dir.resolve("classify").toString(), "--timing"));
        images.forEach(i -> cmd.add(i.toString()));
        Out out = run(dir, cmd);
        assertTrue(out.err().contains("on reference"), out.err());
        Map<String, Prediction> expected = predict(model, images);
        assertAgrees(expected, out);
        // Lossless: the same pixels as scan.dcm, so the same prediction.
        Prediction plain = expected.get(images.get(images.size() - 2).toString());
        assertNotNull(plain, expected.toString());
        assertEquals(plain, expected.get(images.get(images.size() - 1).toString()));
    }

    @Test
    void aFolderThatIsNotEmptyIsRefusedUnlessForced() throws IOException {
        Path model = DecisionFixtures.model(tmp.resolve("m.safetensors"), 9, Map.of());
        Path dir = Files.createDirectories(tmp.resolve("busy"));
        Files.writeString(dir.resolve("notes.txt"), "keep me");
        Cli.userError(Cli.args("export", "--model", model, "--runtime", dir), "--runtime", "is not empty", "--force");
        assertFalse(Files.exists(dir.resolve("graft-runtime.jar")), "wrote into a refused folder");

        Cli.ok("export", "--model", model, "--runtime", dir, "--force", "--no-onednn");
        assertTrue(Files.isRegularFile(dir.resolve("graft-runtime.jar")));
        assertEquals("keep me", Files.readString(dir.resolve("notes.txt")), "--force replaces our files only");

        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Cli.userError(Cli.args("export", "--model", model, "--runtime", file), "is a file, not a folder");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Cli.ok("export", "--model", model, "--runtime", empty, "--no-onednn");
    }

    @Test
    void anUnreadableModelIsATypedErrorAndWritesNothing() throws IOException {
        Path junk = Files.write(tmp.resolve("junk.safetensors"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        Path dir = tmp.resolve("out");
        Cli.userError(Cli.args("export", "--model", junk, "--runtime", dir), "junk.safetensors");
        Cli.userError(Cli.args("export", "--model", tmp.resolve("missing.safetensors"), "--runtime", dir), "--model", "no such file");
        Cli.userError(Cli.args("export", "--model", tmp, "--runtime", dir), "--model", "is a folder");
        Cli.userError(Cli.args("export", "--model", junk), "give --runtime DIR");
        assertFalse(Files.exists(dir), "an export that failed made its folder");
    }

    /** The jar holds the runtime and its parts, nothing of the CLI, and names the lib/ jars only when shipped. */
    private static void checkJar(Path jar, boolean onednn) throws IOException {
        try (JarFile j = new JarFile(jar.toFile())) {
            assertEquals("dev.graft.runtime.Main", j.getManifest().getMainAttributes().getValue("Main-Class"));
            String cp = j.getManifest().getMainAttributes().getValue("Class-Path");
            if (onednn) {
                assertNotNull(cp);
                assertTrue(cp.contains("lib/dnnl-") && cp.contains("linux-x86_64.jar"), cp);
            } else {
                assertNull(cp, "a Class-Path without lib/");
            }
            for (String needed : List.of("dev/graft/runtime/Classifier.class", "dev/graft/engine/Tensor.class",
                    "dev/graft/models/ResNet.class", "dev/graft/loaders/SafeTensors.class",
                    "com/fasterxml/jackson/core/JsonFactory.class", "META-INF/services/dev.graft.engine.backend.BackendProvider",
                    "com/twelvemonkeys/imageio/plugins/jpeg/JPEGLosslessDecoder.class", "com/twelvemonkeys/lang/Validate.class")) {
                assertNotNull(j.getJarEntry(needed), needed);
            }
            j.stream().forEach(e -> {
                String n = e.getName();
                assertFalse(n.startsWith("picocli/") || n.startsWith("dev/graft/cli/") || n.startsWith("dev/graft/train/")
                        || n.startsWith("org/knowm/") || n.startsWith("com/fasterxml/jackson/databind/")
                        || n.startsWith("META-INF/versions/") || n.endsWith("module-info.class"), n);
            });
        }
        assertTrue(Files.size(jar) < 3_000_000, "the runtime jar grew to " + Files.size(jar) + " bytes");
    }

    record Prediction(String label, double probability) {
    }

    record Out(String out, String err) {
    }

    /** graft predict --json, in-process: label and probability of the predicted class per file. */
    private static Map<String, Prediction> predict(Path model, List<Path> images) throws IOException {
        List<Object> args = new ArrayList<>(List.of("predict", "--json", "--model", model));
        args.addAll(images);
        Cli.Run r = Cli.ok(args.toArray());
        Map<String, Prediction> out = new HashMap<>();
        collect(new ObjectMapper().readTree(r.out()), out);
        assertEquals(images.size(), out.size(), r.toString());
        return out;
    }

    /** Every object with "file" and "predicted", wherever the JSON puts the list. */
    private static void collect(JsonNode n, Map<String, Prediction> out) {
        if (n.isObject() && n.has("file") && n.has("predicted")) {
            String label = n.get("predicted").asText();
            out.put(n.get("file").asText(), new Prediction(label, n.get("probabilities").get(label).asDouble()));
            return;
        }
        n.forEach(child -> collect(child, out));
    }

    private static void assertAgrees(Map<String, Prediction> expected, Out actual) {
        String[] lines = actual.out().strip().split("\n");
        assertEquals(expected.size(), lines.length, actual.toString());
        for (String line : lines) {
            String[] f = line.split("\t");
            assertEquals(3, f.length, line);
            Prediction p = expected.get(f[0]);
            assertNotNull(p, "no graft predict result for " + f[0]);
            assertEquals(p.label(), f[1], line);
            assertEquals(p.probability(), Double.parseDouble(f[2]), TOLERANCE, line);
        }
    }

    /** Runs {@code cmd} in {@code dir} with an environment holding only PATH, HOME and JAVA_HOME (no CLASSPATH). */
    private static Out run(Path dir, List<String> cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        Map<String, String> env = pb.environment();
        String path = env.getOrDefault("PATH", "/usr/bin:/bin");
        String home = env.getOrDefault("HOME", dir.toString());
        env.clear();
        env.put("PATH", path);
        env.put("HOME", home);
        env.put("JAVA_HOME", System.getProperty("java.home"));
        Path err = Files.createTempFile(dir.getParent(), "stderr", ".txt");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + cmd);
        String errText = Files.readString(err);
        Files.delete(err);
        assertEquals(0, p.exitValue(), () -> cmd + "\n--- stdout\n" + out + "--- stderr\n" + errText);
        return new Out(out, errText);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static Path copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        return to;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
