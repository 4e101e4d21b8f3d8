package dev.graft.tests.train;

import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * torchvision's inception_v3 through the command line at torchvision's minimum input (75x75): {@code train} one epoch
 * of 8 images without the auxiliary head (it needs 299x299), then {@code predict} and {@code inspect} read the file.
 * It checks that the family works end to end, not an accuracy. The refusal of the auxiliary head at 75x75 is checked
 * before any training.
 */
class InceptionTrainTest {
    @Test
    void auxiliaryHeadBelow299IsRefusedWithTheWayOut(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 4, 4);
        TrainCommandTest.Run r = TrainCommandTest.graft("train", "--data", data.toString(), "--out", dir.resolve("run").toString(),
                "--arch", "inception_v3", "--image-size", "75", "--resize-size", "75", "--batch-size", "4", "--device", "cpu",
                "--no-progress", "--workers", "1", "--head-epochs", "0", "--finetune-epochs", "1");
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("--aux-weight 0"), r.err());
    }

    @Test
    @Tag("slow")
    void trainsAndPredictsWithInceptionV3(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 4, 4);
        Path run = dir.resolve("run");
        TrainCommandTest.Run r = TrainCommandTest.graft("train", "--data", data.toString(), "--out", run.toString(),
                "--arch", "inception_v3", "--image-size", "75", "--resize-size", "75", "--batch-size", "4", "--device", "cpu",
                "--aux-weight", "0", "--no-progress", "--workers", "2", "--seed", "3", "--head-epochs", "0", "--finetune-epochs", "1");
        assertEquals(0, r.code(), r.out() + r.err());
        StateDict best = StateDicts.read(run.resolve("best.safetensors"));
        assertEquals("inception_v3", best.metadata().get("graft.architecture"));
        assertTrue(best.tensors().containsKey("Mixed_7c.branch3x3dbl_3b.conv.weight"));
        assertTrue(best.tensors().containsKey("AuxLogits.fc.weight"), "the auxiliary head stays in the file");

        TrainCommandTest.Run pr = TrainCommandTest.graft("predict", "--model", run.resolve("best.safetensors").toString(), "--csv",
                data.resolve("vertical/000.png").toString());
        assertEquals(0, pr.code(), pr.err());
        assertEquals(2, pr.out().strip().lines().count(), pr.out());

        TrainCommandTest.Run in = TrainCommandTest.graft("inspect", run.resolve("best.safetensors").toString());
        assertEquals(0, in.code(), in.err());
        assertTrue(in.out().contains("inception_v3 (torchvision), 2 classes"), in.out());
    }
}
