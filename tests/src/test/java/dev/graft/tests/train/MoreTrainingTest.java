package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.graft.tests.train.TrainCommandTest.graft;
import static dev.graft.tests.train.TrainCommandTest.trainArgs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft train --resume RUN --finetune-epochs N}: more epochs for a finished or interrupted run. */
class MoreTrainingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aFinishedRunSaysHowToTrainMoreAndExtendsWithANewCycle(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 4, 12, 12);
        Path weights = TrainCommandTest.pretrained(dir, data);
        Path run = dir.resolve("run");
        TrainCommandTest.Run r = graft(trainArgs(data, run, "reference", "--weights", weights.toString(), "--head-epochs", "1",
                "--finetune-epochs", "1").toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());

        TrainCommandTest.Run again = graft("train", "--resume", run.toString(), "--no-progress");
        assertEquals(2, again.code(), again.out() + again.err());
        assertTrue(again.err().contains(run + " is finished (2 epochs); give --finetune-epochs M (or --head-epochs M) with --resume to train M more"),
                again.err());

        TrainCommandTest.Run more = graft("train", "--resume", run.toString(), "--no-progress", "--finetune-epochs", "2");
        assertEquals(0, more.code(), more.out() + more.err());
        assertTrue(more.out().contains("extending " + run + ": fine-tuning 2 more epoch(s), 2 -> 4; lr schedule: a new one-cycle "
                + "(pct_start 0.3, div 5) over epochs 3-4, peak lr 0.0010 (head) down to 1.0e-05 (stem..layer2); the optimizer's state carries over"),
                more.out());
        JsonNode history = JSON.readTree(run.resolve("history.json").toFile());
        assertEquals(4, history.size(), "history continues: " + history);
        List<String> phases = new ArrayList<>();
        history.forEach(e -> phases.add(e.get("phase").asText()));
        assertEquals(List.of("head", "finetune", "finetune", "finetune"), phases);
        for (int i = 0; i < 4; i++) {
            assertEquals(i + 1, history.get(i).get("epoch").asInt());
        }
        // The recorded lr is the head group's rate at an epoch's last step. A one-cycle segment ends at peak/div_final =
        // (2e-3 / 2) / 1e5 = 1e-8 (Schedule.OneCycle at t = 1), so epochs 2 and 4 end there; epoch 3 ends mid-cycle
        // (t = (s - 1) / (2s - 1) ~ 0.5, past pct_start 0.3, on the way down from 1e-3), far above it: a new cycle began.
        // Tolerance 1e-10 relative: the factor is computed as 1 + (1e-5 - 1), which cancels to an absolute error of
        // about one ulp of 1 (2.2e-16), i.e. 2e-11 relative to 1e-5.
        assertEquals(1e-8, history.get(1).get("lr").asDouble(), 1e-18);
        assertEquals(1e-8, history.get(3).get("lr").asDouble(), 1e-18);
        assertTrue(history.get(2).get("lr").asDouble() > 1e-4, "epoch 3 is mid-cycle: " + history.get(2));
        JsonNode metrics = JSON.readTree(run.resolve("metrics.json").toFile());
        assertEquals(4, metrics.get("epochs").asInt());
        assertEquals(3, metrics.get("schedule_segments").size(), metrics.toString());
        int best = metrics.get("best_epoch").asInt();
        // best.safetensors is chosen over all epochs: the epoch with the lowest validation loss (the default monitor).
        int lowest = 0;
        for (int i = 1; i < 4; i++) {
            if (history.get(i).get("valLoss").asDouble() < history.get(lowest).get("valLoss").asDouble()) {
                lowest = i;
            }
        }
        assertEquals(lowest + 1, best);

        TrainCommandTest.Run done = graft("train", "--resume", run.toString(), "--no-progress");
        assertEquals(2, done.code());
        assertTrue(done.err().contains("is finished (4 epochs)"), done.err());
    }

    /**
     * An interrupted run given more epochs finishes its plan and runs the extension in one process; the same run
     * finished first and then extended must end in the same state (optimizer state carried over the boundary).
     */
    @Test
    void extendingAnInterruptedRunEqualsFinishingThenExtending(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 6, 12, 12);
        Path weights = TrainCommandTest.pretrained(dir, data);
        String[] common = {"--weights", weights.toString(), "--head-epochs", "1", "--finetune-epochs", "1", "--augment", "crop=0.8,flip=0.5",
            "--stop-after-epochs", "1"};
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        assertEquals(0, graft(trainArgs(data, a, "reference", common).toArray(String[]::new)).code());
        assertEquals(0, graft(trainArgs(data, b, "reference", common).toArray(String[]::new)).code());

        TrainCommandTest.Run ra = graft("train", "--resume", a.toString(), "--no-progress", "--finetune-epochs", "2");
        assertEquals(0, ra.code(), ra.out() + ra.err());
        assertTrue(ra.out().contains("2 -> 4 (after the 1 epoch(s) left of its plan)"), ra.out());

        assertEquals(0, graft("train", "--resume", b.toString(), "--no-progress").code());
        TrainCommandTest.Run rb = graft("train", "--resume", b.toString(), "--no-progress", "--finetune-epochs", "2", "--stop-after-epochs", "1");
        assertEquals(0, rb.code(), rb.out() + rb.err());
        assertEquals(0, graft("train", "--resume", b.toString(), "--no-progress").code());

        StateDict x = StateDicts.read(a.resolve("last.safetensors"));
        StateDict y = StateDicts.read(b.resolve("last.safetensors"));
        assertEquals(x.keys(), y.keys());
        for (String k : x.keys()) {
            assertEquals(x.get(k), y.get(k), k + " differs");
        }
        assertEquals(withoutTimings(a), withoutTimings(b));
    }

    @Test
    void negativeMoreEpochsOrPatienceAreRefused(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 4, 8, 8);
        Path run = dir.resolve("run");
        assertEquals(0, graft(trainArgs(data, run, "reference", "--head-epochs", "0", "--finetune-epochs", "1").toArray(String[]::new)).code());
        TrainCommandTest.Run r = graft("train", "--resume", run.toString(), "--finetune-epochs", "-1");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--finetune-epochs -1 is out of range"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        TrainCommandTest.Run p = graft(trainArgs(data, dir.resolve("other"), "reference", "--patience", "-1").toArray(String[]::new));
        assertEquals(2, p.code());
        assertTrue(p.err().contains("--patience -1 is out of range"), p.err());
    }

    /**
     * With a learning rate of 1e-12 the head barely moves (AdamW steps are about lr in size), and with cached features
     * (frozen backbone, batch norm held, no augmentation) nothing else changes: validation accuracy is the same every
     * head epoch, never a strict improvement, so patience 1 ends phase 1 after its second epoch. Phase 2 then runs its
     * two epochs (its last epoch cannot trigger a stop). The same run stopped after one epoch and resumed without
     * --patience must do the same: patience is saved with the run.
     */
    @Test
    void patienceEndsAPhaseAndIsResumable(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 7, 12, 12);
        Path weights = TrainCommandTest.pretrained(dir, data);
        String[] common = {"--weights", weights.toString(), "--head-epochs", "5", "--finetune-epochs", "2", "--augment", "none",
            "--lr", "1e-12", "--monitor", "accuracy", "--patience", "1"};
        Path run = dir.resolve("run");
        TrainCommandTest.Run r = graft(trainArgs(data, run, "reference", common).toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("early stopping: validation accuracy has not improved for 1 epoch(s) since epoch 1 (patience 1); "
                + "phase head ends after epoch 2 instead of 5; fine-tuning follows"), r.out());
        JsonNode history = JSON.readTree(run.resolve("history.json").toFile());
        List<String> phases = new ArrayList<>();
        history.forEach(e -> phases.add(e.get("phase").asText()));
        assertEquals(List.of("head", "head", "finetune", "finetune"), phases);
        assertEquals(history.get(0).get("valAccuracy").asDouble(), history.get(1).get("valAccuracy").asDouble());
        JsonNode stops = JSON.readTree(run.resolve("metrics.json").toFile()).get("early_stopping");
        assertEquals(1, stops.get("patience").asInt());
        assertEquals(1, stops.get("stops").size(), stops.toString());
        assertEquals(2, stops.get("stops").get(0).get("epoch").asInt());
        assertEquals("head", stops.get("stops").get(0).get("phase").asText());

        Path split = dir.resolve("split");
        List<String> first = trainArgs(data, split, "reference", common);
        first.addAll(List.of("--stop-after-epochs", "1"));
        assertEquals(0, graft(first.toArray(String[]::new)).code());
        TrainCommandTest.Run resumed = graft("train", "--resume", split.toString(), "--no-progress");
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        assertTrue(resumed.out().contains("resuming " + split + " after epoch 1 of 7"), resumed.out());
        assertEquals(withoutTimings(run), withoutTimings(split));
    }

    static JsonNode withoutTimings(Path run) throws IOException {
        JsonNode h = JSON.readTree(run.resolve("history.json").toFile());
        for (JsonNode e : h) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) e).remove(List.of("seconds", "imagesPerSecond"));
        }
        return h;
    }
}
