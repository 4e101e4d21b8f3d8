package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.loaders.images.DataLayout;
import dev.graft.tests.train.TrainCommandTest.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.graft.tests.train.TrainCommandTest.graft;
import static dev.graft.tests.train.TrainCommandTest.trainArgs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --data DIR/{train,val,test}/CLASS}: the splits are used for what their names say, with distinct sizes per split
 * (train 24+16, val 7+5, test 9+6) so the counts printed and stored show which folder fed which step.
 */
class DataLayoutTest {
    private static final String[] SHORT = {"--head-epochs", "1", "--finetune-epochs", "1", "--lr", "0.01"};

    private static Path layout(Path root, String valName, String testName) throws IOException {
        SyntheticImages.folder(root.resolve("train"), 1, 24, 16);
        if (valName != null) {
            SyntheticImages.folder(root.resolve(valName), 2, 7, 5);
        }
        if (testName != null) {
            SyntheticImages.folder(root.resolve(testName), 3, 9, 6);
        }
        return root;
    }

    private static String[] args(Path data, Path run, String... extra) {
        var a = trainArgs(data, run, "cpu", SHORT);
        a.addAll(java.util.List.of(extra));
        return a.toArray(String[]::new);
    }

    private static JsonNode json(Path file) throws IOException {
        return new ObjectMapper().readTree(file.toFile());
    }

    @Test
    void trainsOnTrainSelectsOnValAndTestsOnTestOnce(@TempDir Path dir) throws IOException {
        Path data = layout(dir.resolve("chest"), "val", "test");
        Path run = dir.resolve("run");
        Run r = graft(args(data, run));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("data: " + data + " holds train/, val/ and test/: training on train/, selecting on val/, "
                + "testing on test/ once at the end"), r.out());
        assertTrue(r.out().contains("2 classes [horizontal, vertical], 40 training images [24, 16]"), r.out());
        assertTrue(r.out().contains(", 12 validation images"), r.out());
        assertFalse(r.out().contains("[test, train, val]"), r.out());
        assertTrue(r.out().contains("Test metrics of the best model on 15 images"), r.out());

        JsonNode m = json(run.resolve("metrics.json"));
        assertEquals(12, m.get("validation").get("count").asInt());
        JsonNode test = m.get("test");
        assertEquals(15, test.get("count").asInt());
        assertEquals(9, test.get("per_class").get(0).get("support").asInt());
        assertEquals(6, test.get("per_class").get(1).get("support").asInt());
        assertEquals(data.resolve("train").toString(), m.get("config").get("data").asText());
        assertEquals(data.resolve("val").toString(), m.get("config").get("val").asText());
        assertTrue(Files.size(run.resolve("test-plots/roc.png")) > 0);
        String html = Files.readString(run.resolve("report.html"));
        assertTrue(html.indexOf("Validation metrics of the best model") < html.indexOf("Test metrics of the best model")
                && html.indexOf("Test metrics of the best model") < html.indexOf("<h2>Plots</h2>"), "test section after validation");
        assertTrue(html.contains("15 images of " + data.resolve("test")), "report names the test images");

        // The stored test figures are those of the best model on test/ alone: evaluate reads the same 15 files on its own.
        Run ev = graft("evaluate", "--model", run.resolve("best.safetensors").toString(), "--data", data.resolve("test").toString(),
                "--out", dir.resolve("eval").toString(), "--no-progress", "--device", "cpu", "--top-losses", "0");
        assertEquals(0, ev.code(), ev.out() + ev.err());
        JsonNode alone = json(dir.resolve("eval/metrics.json")).get("metrics");
        for (String k : new String[] {"count", "accuracy", "roc_auc", "confusion_matrix"}) {
            assertEquals(alone.get(k), test.get(k), k);
        }

        // evaluate --data on the layout itself evaluates on test/ and says so.
        Run ev2 = graft("evaluate", "--model", run.resolve("best.safetensors").toString(), "--data", data.toString(),
                "--out", dir.resolve("eval2").toString(), "--no-progress", "--device", "cpu", "--top-losses", "0");
        assertEquals(0, ev2.code(), ev2.out() + ev2.err());
        assertTrue(ev2.out().contains("evaluating on " + data.resolve("test")), ev2.out());
        assertEquals(alone.get("confusion_matrix"), json(dir.resolve("eval2/metrics.json")).get("metrics").get("confusion_matrix"));
    }

    @Test
    void explicitValOverridesAndAMissingValFallsBackToTheFractionSplit(@TempDir Path dir) throws IOException {
        Path data = layout(dir.resolve("set"), "Validation", null);
        Path other = SyntheticImages.folder(dir.resolve("other"), 4, 4, 4);
        Run r = graft(args(data, dir.resolve("run"), "--val", other.toString()));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("selecting on --val (it overrides Validation/)"), r.out());
        assertTrue(r.out().contains("no test/ folder"), r.out());
        assertTrue(r.out().contains("40 training images") && r.out().contains(", 8 validation images"), r.out());
        assertNull(json(dir.resolve("run/metrics.json")).get("test"));

        // --test DIR names a test folder where the layout has none (6+5 images).
        Path tests = SyntheticImages.folder(dir.resolve("tests"), 5, 6, 5);
        Run t = graft(args(data, dir.resolve("run3"), "--test", tests.toString()));
        assertEquals(0, t.code(), t.out() + t.err());
        assertTrue(t.out().contains("selecting on Validation/, testing on --test once at the end"), t.out());
        assertTrue(t.out().contains(", 12 validation images"), t.out());
        assertEquals(11, json(dir.resolve("run3/metrics.json")).get("test").get("count").asInt());

        Path noVal = layout(dir.resolve("noval"), null, "TEST");
        Run f = graft(args(noVal, dir.resolve("run2")));
        assertEquals(0, f.code(), f.out() + f.err());
        assertTrue(f.out().contains("selecting on a seeded stratified --val-fraction split of train/"), f.out());
        // --val-fraction 0.2 of 24+16 holds out 5+3 (the stratified split's rounding, as without a layout): 32 train, 8 validation.
        assertTrue(f.out().contains("32 training images") && f.out().contains(", 8 validation images"), f.out());
        assertEquals(15, json(dir.resolve("run2/metrics.json")).get("test").get("count").asInt());
    }

    @Test
    void classFoldersNamedLikeSplitsAreRefusedWithWhatToDo(@TempDir Path dir) throws IOException {
        // Split names without a train/ split: not a layout, and not classes either.
        Path noTrain = dir.resolve("a");
        SyntheticImages.folder(noTrain.resolve("val"), 1, 3, 3);
        SyntheticImages.folder(noTrain.resolve("Test"), 2, 3, 3);
        Run r = graft(args(noTrain, dir.resolve("run")));
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("named like data splits [Test, val]"), r.err());
        assertTrue(r.err().contains("none is train/"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());

        // Mixed: a class folder beside a split folder.
        Path mixed = SyntheticImages.folder(dir.resolve("b"), 1, 3, 3);
        SyntheticImages.folder(mixed.resolve("train"), 2, 3, 3);
        Run m = graft(args(mixed, dir.resolve("run2")));
        assertEquals(2, m.code(), m.out() + m.err());
        assertTrue(m.err().contains("mix split names [train] with class names [horizontal, vertical]"), m.err());

        // A layout given where one split is expected (--val DATA).
        Path data = layout(dir.resolve("c"), "val", "test");
        Run v = graft(args(data.resolve("train"), dir.resolve("run3"), "--val", data.toString()));
        assertEquals(2, v.code(), v.out() + v.err());
        assertTrue(v.err().contains("named like data splits [test, train, val]") && v.err().contains("give --data " + data + " (Graft reads its train/, val/ and test/ itself)"), v.err());

        // A missing --test folder fails before any training.
        Run nt = graft(args(data.resolve("train"), dir.resolve("run4"), "--test", dir.resolve("nope").toString()));
        assertEquals(2, nt.code(), nt.out() + nt.err());
        assertTrue(nt.err().contains("does not exist"), nt.err());
        assertFalse(Files.exists(dir.resolve("run4/checkpoint.safetensors")));

        // A test folder with other classes (three, not two) also fails before training.
        Run three = graft(args(data.resolve("train"), dir.resolve("run5"), "--test",
                SyntheticImages.folder(dir.resolve("three"), 6, 2, 2, 2).toString()));
        assertEquals(2, three.code(), three.out() + three.err());
        assertTrue(three.err().contains("test classes [diagonal, horizontal, vertical]"), three.err());
        assertFalse(Files.exists(dir.resolve("run5/checkpoint.safetensors")));

        // evaluate on a layout without test/ names what to pass instead.
        Path noTest = layout(dir.resolve("d"), "valid", null);
        Run e = graft("evaluate", "--model", dir.resolve("missing.safetensors").toString(), "--data", noTest.toString(), "--no-progress");
        assertEquals(2, e.code(), e.out() + e.err());
        assertTrue(e.err().contains("without a test/ folder") && e.err().contains("--data " + noTest.resolve("valid")), e.err());
    }

    @Test
    void lrFindSweepsTheTrainSplit(@TempDir Path dir) throws IOException {
        Path data = layout(dir.resolve("set"), "val", "test");
        Run r = graft("lr-find", "--data", data.toString(), "--out", dir.resolve("lr").toString(), "--arch", TrainCommandTest.TINY,
                "--image-size", "16", "--resize-size", "16", "--batch-size", "8", "--device", "cpu", "--no-progress", "--workers", "2",
                "--iters", "5");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("the sweep trains on " + data.resolve("train") + " (all of it)"), r.out());
        assertTrue(r.out().contains("lr-find: 40 training images"), r.out());
    }

    @Test
    void detectionIgnoresCaseAndPlainFolders(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("x");
        Files.createDirectories(d.resolve("Training"));
        Files.createDirectories(d.resolve("VALID"));
        Files.createDirectories(d.resolve("testing"));
        Files.createDirectories(d.resolve("__MACOSX"));
        Files.createDirectories(d.resolve(".cache"));
        DataLayout l = DataLayout.detect(d);
        assertEquals(d.resolve("Training"), l.train());
        assertEquals(d.resolve("VALID"), l.val());
        assertEquals(d.resolve("testing"), l.test());
        assertNull(DataLayout.detect(SyntheticImages.folder(dir.resolve("plain"), 1, 1, 1)));
        assertTrue(DataLayout.isSplitName("Val") && !DataLayout.isSplitName("trains"));
        Files.createDirectories(d.resolve("NORMAL"));
        assertNull(DataLayout.detect(d), "a class folder beside the splits: no layout (ImageFolder refuses the mix)");
    }
}
