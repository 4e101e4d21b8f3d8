package dev.graft.tests.train;

import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Smoke run of a narrow Swin Transformer through the command line (embed 16, depths 2-2, heads 1-2, window 4,
 * 32x32 images: an 8x8 then a 4x4 map, so one shifted stage and one where the window covers the map), given as
 * the configuration line that {@code graft.resnet} metadata writes (a head epoch, then fine-tuning from block
 * features.1.1), then {@code evaluate} and {@code inspect} on the
 * file it wrote. End to end, not an accuracy. Tagged slow: it takes about 45 s on 2 cores (run with -Dgroups=slow).
 */
@Tag("slow")
class SwinTrainTest {
    static final String ARCH = "family=swin patch=4 embed=16 depths=2,2 heads=1,2 window=4 stochastic_depth=0.1 classes=2 in_channels=3";

    @Test
    void trainsEvaluatesAndInspectsANarrowSwin(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 8, 8);
        Path run = dir.resolve("run");
        TrainCommandTest.Run r = TrainCommandTest.graft("train", "--data", data.toString(), "--out", run.toString(),
                "--arch", ARCH, "--image-size", "32", "--resize-size", "32", "--batch-size", "8", "--device", "cpu",
                "--no-progress", "--workers", "2", "--seed", "3", "--head-epochs", "1", "--finetune-epochs", "1",
                "--unfreeze-from", "features.1.1");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("--bn-policy does not apply"), r.out());
        StateDict best = StateDicts.read(run.resolve("best.safetensors"));
        assertTrue(best.metadata().get("graft.resnet").startsWith("family=swin "), best.metadata().toString());
        assertTrue(best.tensors().containsKey("features.3.1.attn.relative_position_bias_table"), best.tensors().keySet().toString());
        assertTrue(best.tensors().containsKey("head.weight"), best.tensors().keySet().toString());

        TrainCommandTest.Run ev = TrainCommandTest.graft("evaluate", "--model", run.resolve("best.safetensors").toString(),
                "--data", data.toString(), "--out", dir.resolve("eval").toString(), "--no-progress", "--device", "cpu");
        assertEquals(0, ev.code(), ev.out() + ev.err());
        assertTrue(Files.exists(dir.resolve("eval/metrics.json")));

        TrainCommandTest.Run in = TrainCommandTest.graft("inspect", run.resolve("best.safetensors").toString());
        assertEquals(0, in.code(), in.err());
        assertTrue(in.out().contains("custom Swin (family=swin patch=4 embed=16"), in.out());

        TrainCommandTest.Run pr = TrainCommandTest.graft("predict", "--model", run.resolve("best.safetensors").toString(), "--csv",
                data.resolve("vertical/000.png").toString());
        assertEquals(0, pr.code(), pr.out() + pr.err());
        assertEquals(2, pr.out().strip().lines().count(), pr.out());
    }
}
