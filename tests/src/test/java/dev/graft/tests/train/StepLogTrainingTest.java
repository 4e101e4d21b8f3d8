package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.graft.tests.train.TrainCommandTest.graft;
import static dev.graft.tests.train.TrainCommandTest.trainArgs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * steps.csv: one row per optimizer step, across a run stopped after its first epoch and resumed. 32 training images
 * (40 less the 20% validation split) in batches of 8, the last batch dropped only when short: 4 steps per epoch, 3
 * epochs: one head epoch on
 * cached backbone features (--augment none), two fine-tuning epochs, so both training loops log.
 */
class StepLogTrainingTest {
    @Test
    void oneRowPerStepAcrossAResumeWithoutDuplicates(@TempDir Path dir) throws Exception {
        Path data = SyntheticImages.folder(dir.resolve("data"), 5, 20, 20);
        Path weights = TrainCommandTest.pretrained(dir, data);
        Path run = dir.resolve("run");
        TrainCommandTest.Run first = graft(trainArgs(data, run, "cpu", "--weights", weights.toString(), "--head-epochs", "1", "--finetune-epochs", "2",
                "--augment", "none", "--stop-after-epochs", "1").toArray(String[]::new));
        assertEquals(0, first.code(), first.out() + first.err());
        assertTrue(first.out().contains("cached backbone features"), first.out());
        Path csv = run.resolve("steps.csv");
        assertEquals(1 + 4, Files.readAllLines(csv).size(), "header and the first epoch's 4 steps");
        // A kill in epoch 2 leaves rows the checkpoint does not cover, and maybe a torn last row: resuming drops them.
        Files.writeString(csv, "2,1,5,finetune,1.0e-03,0.5,10.0\n2,2,6,fine", StandardOpenOption.APPEND);

        TrainCommandTest.Run rest = graft("train", "--resume", run.toString(), "--no-progress");
        assertEquals(0, rest.code(), rest.out() + rest.err());

        List<String> lines = Files.readAllLines(csv);
        assertEquals("epoch,step,global_step,phase,lr,loss,images_per_s", lines.get(0));
        JsonNode history = new ObjectMapper().readTree(run.resolve("history.json").toFile());
        assertEquals(3, history.size());
        List<String[]> rows = lines.subList(1, lines.size()).stream().map(l -> l.split(",")).toList();
        assertEquals(12, rows.size(), String.join("\n", lines));
        Set<String> seen = new HashSet<>();
        double[] lossSum = new double[3];
        for (int i = 0; i < rows.size(); i++) {
            String[] r = rows.get(i);
            assertEquals(7, r.length, lines.get(i + 1));
            int epoch = Integer.parseInt(r[0]);
            assertEquals(i / 4 + 1, epoch, lines.get(i + 1));
            assertEquals(i % 4 + 1, Integer.parseInt(r[1]), lines.get(i + 1));
            assertEquals(i + 1, Integer.parseInt(r[2]), "global_step counts on across the resume");
            assertEquals(epoch == 1 ? "head" : "finetune", r[3], lines.get(i + 1));
            assertTrue(Double.parseDouble(r[4]) > 0 && Double.parseDouble(r[6]) > 0, lines.get(i + 1));
            assertTrue(seen.add(r[0] + "/" + r[1]), "duplicate step " + lines.get(i + 1));
            lossSum[epoch - 1] += Double.parseDouble(r[5]);
        }
        // Every batch holds 8 images, so an epoch's training loss (history.json, summed by the trainer per image) is the
        // plain mean of its 4 step losses; each is printed to 6 decimals (error <= 5e-7), hence 1e-6.
        for (int e = 0; e < 3; e++) {
            assertEquals(history.get(e).get("trainLoss").asDouble(), lossSum[e] / 4, 1e-6, "epoch " + (e + 1));
        }
    }
}
