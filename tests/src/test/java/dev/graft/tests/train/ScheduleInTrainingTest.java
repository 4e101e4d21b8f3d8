package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer reads the schedule at the right step: {@code --schedule step:1:0.5 --warmup-epochs 1} over a head
 * phase (cached features) and a fine-tuning phase (data loader), and the peak learning rate history.json records
 * for each epoch (the rate of its last step) against torch's StepLR after a LinearLR warm-up. The per-step curve
 * itself is compared with torch in the cli module's ScheduleTorchParityTest; here, with w warm-up steps and S steps
 * per epoch, the last step of epoch e of a phase is eS + S - 1, whose factor is 1 (warm-up end) for e = 0 and
 * 0.5^floor((eS + S - 1 - w) / S) = 0.5^(e - 1) after: 1, 1, 0.5, 0.25 whatever S is. The schedule starts again
 * in each phase; fine-tuning's peak group (the head) runs at half the base rate. An off-by-one step, a schedule
 * that ran on across phases or a warm-up missing from one phase gives other values. Exact (relative 1e-12): the
 * factors are powers of two.
 */
class ScheduleInTrainingTest {
    @Test
    void historyRecordsStepDecayAfterWarmUpInEachPhase(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 6, 12, 12);
        Path weights = TrainCommandTest.pretrained(dir, data);
        Path run = dir.resolve("run");
        double lr = 0.01;
        TrainCommandTest.Run r = TrainCommandTest.graft(TrainCommandTest.trainArgs(data, run, "cpu", "--weights", weights.toString(),
                "--head-epochs", "4", "--finetune-epochs", "3", "--augment", "none", "--lr", String.valueOf(lr),
                "--schedule", "step:1:0.5", "--warmup-epochs", "1").toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("cached backbone features"), "the head phase runs on cached features: " + r.out());

        List<String> phases = new ArrayList<>();
        List<Double> rates = new ArrayList<>();
        for (JsonNode e : new ObjectMapper().readTree(run.resolve("history.json").toFile())) {
            phases.add(e.get("phase").asText());
            rates.add(e.get("lr").asDouble());
        }
        assertEquals(List.of("head", "head", "head", "head", "finetune", "finetune", "finetune"), phases);
        double[] want = {lr, lr, lr / 2, lr / 4, lr / 2, lr / 2, lr / 4};
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], rates.get(i), 1e-12 * want[i], "epoch " + (i + 1) + " (" + phases.get(i) + "): " + rates);
        }
    }
}
