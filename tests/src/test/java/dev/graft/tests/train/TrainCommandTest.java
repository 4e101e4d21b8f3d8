package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.cli.GraftCli;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End-to-end runs of {@code graft train}, {@code evaluate} and {@code predict} on generated image folders. */
class TrainCommandTest {
    /** A narrow ResNet-10 small enough for the reference backend (stem 4, stages 4/8/8/8). */
    static final String TINY = "block=basic layers=1,1,1,1 groups=1 width_per_group=64 stem=4 planes=4,8,8,8 classes=2 in_channels=3";

    record Run(int code, String out, String err) {
    }

    static Run graft(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = GraftCli.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static List<String> trainArgs(Path data, Path out, String device, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString(), "--arch", TINY,
                "--image-size", "16", "--resize-size", "16", "--batch-size", "8", "--device", device, "--no-progress", "--workers", "2",
                "--seed", "3"));
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void trainsToAStatedAccuracyAndWritesEverythingTheModelNeeds(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 40, 40);
        Path test = SyntheticImages.folder(dir.resolve("test"), 2, 25, 25);
        Path run = dir.resolve("run");
        Run r = graft(trainArgs(data, run, "cpu", "--head-epochs", "2", "--finetune-epochs", "4", "--lr", "0.01").toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("random weights"), "warns that transfer is off: " + r.err());
        for (String f : List.of("best.safetensors", "last.safetensors", "checkpoint.safetensors", "metrics.json", "history.json",
                "plots/loss.png", "plots/accuracy.png", "plots/roc.png", "plots/confusion.png")) {
            assertTrue(Files.size(run.resolve(f)) > 0, f);
        }
        StateDict best = StateDicts.read(run.resolve("best.safetensors"));
        assertEquals("[\"horizontal\",\"vertical\"]", best.metadata().get("graft.classes"));
        assertEquals("16", best.metadata().get("graft.image_size"));
        assertTrue(best.metadata().containsKey("graft.threshold"));
        assertTrue(best.metadata().containsKey("graft.train_config"));

        // Stripe orientation is easy: 6 epochs on 64 training images must reach 90% on unseen images.
        Run ev = graft("evaluate", "--model", run.resolve("best.safetensors").toString(), "--data", test.toString(),
                "--out", dir.resolve("eval").toString(), "--no-progress", "--device", "cpu");
        assertEquals(0, ev.code(), ev.out() + ev.err());
        JsonNode metrics = new ObjectMapper().readTree(dir.resolve("eval/metrics.json").toFile()).get("metrics");
        assertTrue(metrics.get("accuracy").asDouble() >= 0.9, "test accuracy " + metrics.get("accuracy"));
        assertTrue(metrics.get("roc_auc").asDouble() >= 0.95, "test AUC " + metrics.get("roc_auc"));
        assertTrue(Files.exists(dir.resolve("eval/plots/roc.png")));

        Run pr = graft("predict", "--model", run.resolve("best.safetensors").toString(), "--csv",
                test.resolve("vertical/000.png").toString(), test.resolve("horizontal/000.png").toString());
        assertEquals(0, pr.code(), pr.err());
        String[] lines = pr.out().strip().split("\n");
        assertEquals("file,predicted,p_horizontal,p_vertical,error,threshold", lines[0]);
        assertTrue(lines[1].contains(",vertical,"), lines[1]);
        assertTrue(lines[2].contains(",horizontal,"), lines[2]);
    }

    @Test
    void resumedRunIsBitIdenticalToAnUninterruptedOneOnTheReferenceBackend(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 4, 12, 12);
        Path weights = pretrained(dir, data);
        String[] common = {"--weights", weights.toString(), "--head-epochs", "2", "--finetune-epochs", "2", "--augment", "crop=0.8,flip=0.5"};
        Path straight = dir.resolve("straight");
        Run r0 = graft(trainArgs(data, straight, "reference", common).toArray(String[]::new));
        assertEquals(0, r0.code(), r0.out() + r0.err());

        Path split = dir.resolve("split");
        List<String> first = trainArgs(data, split, "reference", common);
        first.addAll(List.of("--stop-after-epochs", "1"));
        Run r1 = graft(first.toArray(String[]::new));
        assertEquals(0, r1.code(), r1.err());
        assertFalse(Files.exists(split.resolve("metrics.json")), "the interrupted run did not finish");
        // Resume twice more: mid-phase 1 -> into phase 2, and mid-phase 2 -> the end.
        assertEquals(0, graft("train", "--resume", split.toString(), "--no-progress", "--stop-after-epochs", "2").code());
        Run r3 = graft("train", "--resume", split.toString(), "--no-progress");
        assertEquals(0, r3.code(), r3.out() + r3.err());
        for (String f : List.of("last.safetensors", "best.safetensors")) {
            StateDict a = StateDicts.read(straight.resolve(f));
            StateDict b = StateDicts.read(split.resolve(f));
            assertEquals(a.keys(), b.keys());
            for (String k : a.keys()) {
                HostTensor x = a.get(k);
                assertEquals(x, b.get(k), f + " " + k + " differs after resuming");
            }
        }
        assertEquals(historyWithoutTimings(straight), historyWithoutTimings(split));
    }

    /**
     * --aux-weight is a saved setting: the checkpoint's configuration and the model file's metadata hold it, and a
     * resumed run (which cannot take --aux-weight) keeps it rather than falling back to the default.
     */
    @Test
    void auxWeightIsSavedAndKeptByResume(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 6, 8, 8);
        Path run = dir.resolve("run");
        List<String> args = trainArgs(data, run, "cpu", "--head-epochs", "0", "--finetune-epochs", "2", "--aux-weight", "0.25",
                "--stop-after-epochs", "1");
        assertEquals(0, graft(args.toArray(String[]::new)).code());
        assertEquals(0.25, dev.graft.train.Checkpoint.read(run).config().auxWeight());
        Run refused = graft("train", "--resume", run.toString(), "--aux-weight", "0.4");
        assertTrue(refused.code() != 0 && refused.err().contains("--aux-weight"), refused.err());
        Run r = graft("train", "--resume", run.toString(), "--no-progress");
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals(0.25, dev.graft.train.Checkpoint.read(run).config().auxWeight());
        String saved = StateDicts.read(run.resolve("best.safetensors")).metadata().get(dev.graft.train.ModelFile.META_TRAIN_CONFIG);
        assertEquals(0.25, dev.graft.train.TrainConfig.fromJson(saved).auxWeight(), saved);
    }

    /** history.json without wall-clock fields, which legitimately differ between runs. */
    private static JsonNode historyWithoutTimings(Path run) throws IOException {
        JsonNode h = new ObjectMapper().readTree(run.resolve("history.json").toFile());
        for (JsonNode e : h) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) e).remove(List.of("seconds", "imagesPerSecond"));
        }
        return h;
    }

    @Test
    void cachedHeadEpochsEqualUncachedOnes(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 5, 12, 12);
        Path weights = pretrained(dir, data);
        String[] common = {"--weights", weights.toString(), "--head-epochs", "3", "--finetune-epochs", "0", "--augment", "none"};
        Run cached = graft(trainArgs(data, dir.resolve("cached"), "reference", common).toArray(String[]::new));
        assertTrue(cached.out().contains("cached backbone features"), cached.out() + cached.err());
        List<String> plain = trainArgs(data, dir.resolve("plain"), "reference", common);
        plain.add("--no-feature-cache");
        Run uncached = graft(plain.toArray(String[]::new));
        assertFalse(uncached.out().contains("cached backbone features"));
        // Under HOLD a frozen backbone is a per-image function, so features do not depend on the batch they were
        // computed in; on the reference backend (double accumulation) the two paths agree bit for bit.
        StateDict a = StateDicts.read(dir.resolve("cached/last.safetensors"));
        StateDict b = StateDicts.read(dir.resolve("plain/last.safetensors"));
        for (String k : a.keys()) {
            assertEquals(a.get(k), b.get(k), k);
        }
    }

    /** A "pretrained" tiny model: a short run on the data itself, then used as --weights (random head replaced). */
    static Path pretrained(Path dir, Path data) {
        Path run = dir.resolve("pre");
        Run r = graft(trainArgs(data, run, "reference", "--head-epochs", "1", "--finetune-epochs", "0").toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        return run.resolve("last.safetensors");
    }

    @Test
    void badDataFailsBeforeTrainingWithAClearMessage(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 5, 5);
        Files.createDirectories(data.resolve("zz_empty"));
        Run r = graft(trainArgs(data, dir.resolve("run"), "reference").toArray(String[]::new));
        assertEquals(2, r.code());
        assertTrue(r.err().contains("zz_empty") && r.err().contains("no images"), r.err());
        assertFalse(Files.exists(dir.resolve("run/checkpoint.safetensors")));
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("graft train: error:")).count(), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());

        Run missing = graft(trainArgs(dir.resolve("nope"), dir.resolve("run2"), "reference").toArray(String[]::new));
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("does not exist"), missing.err());
    }

    @Test
    void divergingLossStopsWithEpochAndStepAndKeepsTheLastGoodCheckpoint(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 16, 16);
        Path run = dir.resolve("run");
        Run ok = graft(trainArgs(data, run, "cpu", "--head-epochs", "1", "--finetune-epochs", "1", "--stop-after-epochs", "1").toArray(String[]::new));
        assertEquals(0, ok.code(), ok.err());
        byte[] good = Files.readAllBytes(run.resolve("checkpoint.safetensors"));
        // A learning rate of 1e30 drives the weights, and then the loss, to infinity or NaN within a few steps.
        Run bad = graft(trainArgs(data, dir.resolve("bad"), "cpu", "--lr", "1e30", "--optimizer", "sgd", "--head-epochs", "1",
                "--finetune-epochs", "2").toArray(String[]::new));
        assertEquals(2, bad.code(), bad.out());
        assertTrue(bad.err().matches("(?s).*the loss became (NaN|Infinity|-Infinity) at epoch \\d+, step \\d+.*"), bad.err());
        // The earlier run's checkpoint is untouched, and resuming it still works.
        assertTrue(java.util.Arrays.equals(good, Files.readAllBytes(run.resolve("checkpoint.safetensors"))));
        assertEquals(0, graft("train", "--resume", run.toString(), "--no-progress").code());
    }
}
