package dev.graft.tests.train;

import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Smoke run of Transfusion's CBR-Tiny through the command line: {@code train --arch cbr_tiny} (full width, 32x32
 * images: four 3x3/2 pools take 32 px to 1), then {@code evaluate}, {@code predict} and {@code inspect} read the
 * file it wrote. It checks that the family works end to end, not an accuracy.
 */
class CbrTrainTest {
    @Test
    void trainsEvaluatesAndPredictsWithCbrTiny(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 8, 8);
        Path run = dir.resolve("run");
        TrainCommandTest.Run r = TrainCommandTest.graft("train", "--data", data.toString(), "--out", run.toString(),
                "--arch", "cbr_tiny", "--image-size", "32", "--resize-size", "32", "--batch-size", "8", "--device", "cpu",
                "--no-progress", "--workers", "2", "--seed", "3", "--head-epochs", "0", "--finetune-epochs", "1");
        assertEquals(0, r.code(), r.out() + r.err());
        StateDict best = StateDicts.read(run.resolve("best.safetensors"));
        assertEquals("cbr_tiny", best.metadata().get("graft.architecture"));
        assertTrue(best.tensors().containsKey("features.12.weight"), best.tensors().keySet().toString());

        TrainCommandTest.Run ev = TrainCommandTest.graft("evaluate", "--model", run.resolve("best.safetensors").toString(),
                "--data", data.toString(), "--out", dir.resolve("eval").toString(), "--no-progress", "--device", "cpu");
        assertEquals(0, ev.code(), ev.out() + ev.err());
        assertTrue(Files.exists(dir.resolve("eval/metrics.json")));

        TrainCommandTest.Run pr = TrainCommandTest.graft("predict", "--model", run.resolve("best.safetensors").toString(), "--csv",
                data.resolve("vertical/000.png").toString());
        assertEquals(0, pr.code(), pr.err());
        List<String> lines = pr.out().strip().lines().toList();
        assertEquals(2, lines.size(), pr.out());

        TrainCommandTest.Run in = TrainCommandTest.graft("inspect", run.resolve("best.safetensors").toString());
        assertEquals(0, in.code(), in.err());
        assertTrue(in.out().contains("cbr_tiny (Transfusion CBR), 2 classes"), in.out());
    }
}
