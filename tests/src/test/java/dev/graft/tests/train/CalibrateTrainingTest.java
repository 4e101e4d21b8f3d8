package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft train --calibrate}: a temperature fitted on the validation set goes into both model files, the
 * threshold is chosen on the calibrated probabilities, and {@code graft evaluate} on that validation set reproduces
 * the run's validation figures exactly (same probabilities, same decisions; with the run's seed, the same bootstrap
 * intervals).
 */
class CalibrateTrainingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theFittedTemperatureIsStoredAndEvaluateReproducesTheValidationFigures(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 24, 24);
        Path val = SyntheticImages.folder(dir.resolve("val"), 2, 20, 20);
        Path run = dir.resolve("run");
        TrainCommandTest.Run r = TrainCommandTest.graft(TrainCommandTest.trainArgs(data, run, "cpu", "--val", val.toString(),
                "--head-epochs", "1", "--finetune-epochs", "1", "--lr", "0.01", "--calibrate").toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("temperature scaling: T = "), r.out());

        JsonNode trained = JSON.readTree(run.resolve("metrics.json").toFile());
        double t = trained.get("temperature_scaling").get("temperature").asDouble();
        assertTrue(t >= 0.01 && t <= 100, "T " + t);
        for (String f : new String[] {"best.safetensors", "last.safetensors"}) {
            StateDict sd = StateDicts.read(run.resolve(f));
            assertTrue(sd.metadata().containsKey("graft.temperature"), f);
        }
        assertEquals(t, Double.parseDouble(StateDicts.read(run.resolve("best.safetensors")).metadata().get("graft.temperature")));
        JsonNode ts = trained.get("temperature_scaling");
        assertTrue(ts.get("nll_after").asDouble() <= ts.get("nll_before").asDouble(), ts.toString());

        TrainCommandTest.Run ev = TrainCommandTest.graft("evaluate", "--model", run.resolve("best.safetensors").toString(), "--data",
                val.toString(), "--out", dir.resolve("eval").toString(), "--no-progress", "--device", "cpu", "--bootstrap-seed", "3");
        assertEquals(0, ev.code(), ev.out() + ev.err());
        JsonNode evaluated = JSON.readTree(dir.resolve("eval/metrics.json").toFile());
        assertEquals(t, evaluated.get("temperature").asDouble());
        JsonNode a = trained.get("validation"), b = evaluated.get("metrics");
        for (String k : new String[] {"confusion_matrix", "accuracy", "roc_auc", "roc_auc_ci95", "roc_auc_delong_ci95", "calibration"}) {
            assertEquals(a.get(k), b.get(k), k + ": train's validation figures vs evaluate on the validation folder");
        }
        assertEquals(a.get("binary").get("threshold"), b.get("binary").get("threshold"));
        assertEquals(a.get("binary").get("sensitivity_ci95"), b.get("binary").get("sensitivity_ci95"));
    }
}
