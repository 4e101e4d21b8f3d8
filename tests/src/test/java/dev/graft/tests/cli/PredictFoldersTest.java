package dev.graft.tests.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.models.DecisionRule;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft predict DIR}: folders are searched recursively, images sorted by path, arguments in the order given; a
 * broken image or a missing path is a row in its place with its reason on stderr after the output (exit 2, as for
 * any image that fails); every format states the decision rule. The expected orders are written out by hand.
 */
class PredictFoldersTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> RULE =
            Map.of(DecisionRule.META_THRESHOLD, "0.845", DecisionRule.META_POSITIVE_CLASS, "pneumonia");

    @TempDir
    Path dir;
    Path tree;
    Path single;
    Path missing;
    /** The rows expected for (tree, single, missing): byte order of paths, so "Z.png" before "a.png". */
    List<Path> expected;

    @BeforeEach
    void folders() throws IOException {
        List<Path> made = DecisionFixtures.images(dir.resolve("made"), 5);
        tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("b/sub"));
        // Copied in an order that is not the sorted one, so the listing's own order cannot pass for sorting.
        String[] names = {"b/x.png", "a.png", "b/sub/c.png", "Z.png"};
        for (int i = 0; i < names.length; i++) {
            Files.copy(made.get(i), tree.resolve(names[i]));
        }
        Files.writeString(tree.resolve("notes.txt"), "not an image, skipped");
        byte[] png = Files.readAllBytes(made.get(0));
        Files.write(tree.resolve("b/broken.png"), Arrays.copyOf(png, png.length / 2));
        single = Files.copy(made.get(4), dir.resolve("single.png"));
        missing = dir.resolve("gone");
        expected = List.of(tree.resolve("Z.png"), tree.resolve("a.png"), tree.resolve("b/broken.png"), tree.resolve("b/sub/c.png"),
                tree.resolve("b/x.png"), single, missing);
    }

    @Test
    void theTableKeepsTheOrderListsFailuresAfterItAndStatesTheRule() {
        Path model = DecisionFixtures.model(dir.resolve("m.safetensors"), 5, RULE);
        Cli.Run r = Cli.run("predict", "--model", model, "--device", "reference", tree, single, missing);
        assertEquals(2, r.exitCode(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertEquals(2 + expected.size() + 1, lines.size(), r::toString);
        for (int i = 0; i < expected.size(); i++) {
            String row = lines.get(2 + i);
            assertTrue(row.startsWith(expected.get(i) + " "), "row " + i + ": " + row);
            boolean fails = i == 2 || i == 6;
            assertEquals(fails, row.contains("error (below)"), row);
        }
        assertEquals("decision: P(pneumonia) >= 0.845 (the model file's rule)", lines.get(lines.size() - 1));
        assertFalse(r.out().contains("truncated") || r.out().contains("no such"), "reasons go to stderr: " + r.out());
        List<String> err = r.err().lines().toList();
        assertEquals(3, err.size(), r::toString);
        assertTrue(err.get(0).startsWith("error: image " + tree.resolve("b/broken.png") + " is truncated or damaged"), err.get(0));
        assertEquals("error: no such file or folder: " + missing, err.get(1));
        assertEquals("2 of 7 images could not be classified", err.get(2));
    }

    @Test
    void csvIsRectangularWithAThresholdColumnAndDecidesByIt() {
        Path model = DecisionFixtures.model(dir.resolve("m.safetensors"), 5, RULE);
        Cli.Run r = Cli.run("predict", "--model", model, "--csv", "--device", "reference", tree, single, missing);
        assertEquals(2, r.exitCode(), r::toString);
        List<List<String>> records = UntrustedTextTest.parseCsv(r.out());
        assertEquals(List.of("file", "predicted", "p_normal", "p_pneumonia", "error", "threshold"), records.get(0));
        assertEquals(1 + expected.size(), records.size(), r::toString);
        for (int i = 0; i < expected.size(); i++) {
            List<String> rec = records.get(1 + i);
            assertEquals(6, rec.size(), rec::toString);
            assertEquals(expected.get(i).toString(), rec.get(0));
            assertEquals("0.845", rec.get(5), "the rule in force, on every row");
            if (i == 2 || i == 6) {
                assertTrue(rec.get(1).isEmpty() && !rec.get(4).isEmpty(), rec::toString);
            } else {
                // The rule, by hand: pneumonia exactly when P(pneumonia) >= 0.845.
                double p = Double.parseDouble(rec.get(3));
                assertEquals(p >= 0.845 ? "pneumonia" : "normal", rec.get(1), rec::toString);
                assertTrue(rec.get(4).isEmpty(), rec::toString);
            }
        }
        assertEquals("2 of 7 images could not be classified (see the error column)", r.err().strip());
    }

    @Test
    void jsonRowsCarryTheThresholdAndItsClass() throws IOException {
        Path ruled = DecisionFixtures.model(dir.resolve("m.safetensors"), 5, RULE);
        Cli.Run r = Cli.run("predict", "--model", ruled, "--json", "--device", "reference", tree.resolve("b"));
        assertEquals(2, r.exitCode(), r::toString); // b/broken.png
        JsonNode rows = JSON.readTree(r.out());
        List<String> files = new ArrayList<>();
        rows.forEach(row -> files.add(row.get("file").asText()));
        assertEquals(List.of(tree.resolve("b/broken.png").toString(), tree.resolve("b/sub/c.png").toString(),
                tree.resolve("b/x.png").toString()), files);
        for (JsonNode row : rows) {
            assertEquals(0.845, row.get("threshold").asDouble(), 0.0, row::toString);
            assertEquals("pneumonia", row.get("positive_class").asText(), row::toString);
        }

        Path plain = DecisionFixtures.model(dir.resolve("plain.safetensors"), 5, Map.of());
        JsonNode argmax = JSON.readTree(Cli.ok("predict", "--model", plain, "--json", "--device", "reference", single).out());
        assertTrue(argmax.get(0).get("threshold").isNull() && argmax.get(0).get("positive_class").isNull(), argmax::toString);
        JsonNode given = JSON.readTree(Cli.ok("predict", "--model", plain, "--json", "--threshold", "0.25", "--device",
                "reference", single).out());
        assertEquals(0.25, given.get(0).get("threshold").asDouble(), 0.0);
    }

    @Test
    void theFooterNamesWhereTheRuleComesFrom() {
        Path plain = DecisionFixtures.model(dir.resolve("plain.safetensors"), 5, Map.of());
        assertTrue(Cli.ok("predict", "--model", plain, "--device", "reference", single).out()
                .endsWith("decision: most probable class (the model file sets no threshold)\n"));
        assertTrue(Cli.ok("predict", "--model", plain, "--threshold", "0.3", "--device", "reference", single).out()
                .endsWith("decision: P(pneumonia) >= 0.3 (--threshold)\n"));
        String csv = Cli.ok("predict", "--model", plain, "--csv", "--device", "reference", single).out();
        assertTrue(csv.lines().skip(1).allMatch(l -> l.endsWith(",,")), "no error, no threshold: " + csv);
    }

    /** A folder with no images names the folder; a folder is never "no such file". */
    @Test
    void aFolderWithoutImagesIsAClearError() throws IOException {
        Path model = DecisionFixtures.model(dir.resolve("m.safetensors"), 5, Map.of());
        Path empty = Files.createDirectories(dir.resolve("empty/deeper"));
        Files.writeString(empty.resolve("readme.txt"), "no images here");
        Cli.Run r = Cli.run("predict", "--model", model, "--device", "reference", dir.resolve("empty"));
        assertEquals(2, r.exitCode(), r::toString);
        assertTrue(r.err().startsWith("error: no images (.png, .jpg, .jpeg, .bmp, .dcm) in folder " + dir.resolve("empty")
                + " or its sub-folders\n"), r::toString);
        assertFalse(r.err().contains("no such file"), r::toString);
    }

    /** --cam inside the folder searched: its pictures are never predicted on the next run; sub-folders are kept. */
    @Test
    void camPicturesInsideTheSearchedFolderAreSkipped() throws IOException {
        Path model = DecisionFixtures.model(dir.resolve("m.safetensors"), 5, Map.of());
        Files.delete(tree.resolve("b/broken.png"));
        Path cams = tree.resolve("cams");
        for (int run = 0; run < 2; run++) {
            JsonNode rows = JSON.readTree(Cli.ok("predict", "--model", model, "--json", "--cam", cams, "--device", "reference",
                    tree).out());
            assertEquals(4, rows.size(), "run " + run + ": " + rows);
        }
        assertTrue(Files.isRegularFile(cams.resolve("b/sub/c.png.cam.png")), "sub-folders kept under --cam");
    }
}
