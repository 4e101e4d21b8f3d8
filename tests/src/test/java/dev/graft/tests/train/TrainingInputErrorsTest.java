package dev.graft.tests.train;

import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.graft.tests.train.TrainCommandTest.graft;
import static dev.graft.tests.train.TrainCommandTest.trainArgs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training input that used to be accepted, or to fail with the wrong story: a data folder where nothing can be
 * read (it trained, exited 0 and wrote a random-weights best.safetensors), a class whose every image is unreadable,
 * an unknown --unfreeze-from block (found only when phase 2 began), and resuming from a damaged checkpoint (reported
 * as "the loss became NaN ... the last good checkpoint is intact", about the very checkpoint at fault).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TrainingInputErrorsTest {
    @TempDir
    Path dir;

    /** {@code n} files named like PNGs that are not images, in {@code folder}. */
    private static void unreadable(Path folder, int n) throws IOException {
        Files.createDirectories(folder);
        for (int i = 0; i < n; i++) {
            Files.writeString(folder.resolve(String.format("bad%03d.png", i)), "not an image " + i);
        }
    }

    private static void assertOneErrorLine(TrainCommandTest.Run r, String... fragments) {
        assertEquals(2, r.code(), r.out() + r.err());
        List<String> errors = r.err().lines().filter(l -> l.startsWith("graft ")).toList();
        assertEquals(1, errors.size(), r.err());
        for (String f : fragments) {
            assertTrue(errors.get(0).contains(f), "'" + f + "' missing from: " + errors.get(0));
        }
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test
    void aFolderWhereNothingCanBeReadIsAnErrorAndWritesNoModel() throws IOException {
        Path data = dir.resolve("data");
        unreadable(data.resolve("horizontal"), 5);
        unreadable(data.resolve("vertical"), 5);
        Path run = dir.resolve("run");
        TrainCommandTest.Run r = graft(trainArgs(data, run, "reference").toArray(String[]::new));
        assertOneErrorLine(r, "none of the 8 training images in " + data + " could be read", "nothing to train on");
        assertTrue(r.err().contains("warning: skipping"), "each file was named in a warning: " + r.err());
        for (String f : List.of("best.safetensors", "last.safetensors", "checkpoint.safetensors")) {
            assertFalse(Files.exists(run.resolve(f)), f + " written for a run on nothing");
        }

        Path model = dir.resolve("model");
        TrainCommandTest.Run ok = graft(trainArgs(SyntheticImages.folder(dir.resolve("good"), 1, 5, 5), model, "reference",
                "--head-epochs", "1", "--finetune-epochs", "0").toArray(String[]::new));
        assertEquals(0, ok.code(), ok.err());
        TrainCommandTest.Run ev = graft("evaluate", "--model", model.resolve("best.safetensors").toString(), "--data", data.toString(),
                "--out", dir.resolve("eval").toString(), "--device", "reference", "--no-progress");
        assertOneErrorLine(ev, "none of the 10 evaluation images in " + data + " could be read");
        assertFalse(Files.exists(dir.resolve("eval/metrics.json")));
    }

    @Test
    void aClassLeftEmptyAfterSkippingIsAnError() throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 2, 10);
        unreadable(data.resolve("vertical"), 6);
        Path run = dir.resolve("run");
        TrainCommandTest.Run r = graft(trainArgs(data, run, "reference").toArray(String[]::new));
        // Validation (read in full every epoch) or training (whose last partial batch is dropped) finds it first.
        assertOneErrorLine(r, "images of class 'vertical' in " + data + " could be read", "so that class has no examples",
                "remove the class folder");
        assertFalse(Files.exists(run.resolve("best.safetensors")));
    }

    @Test
    void anUnknownUnfreezeBlockIsRefusedBeforeTraining() throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 3, 6, 6);
        Path weights = TrainCommandTest.pretrained(dir, data);
        Path run = dir.resolve("run");
        TrainCommandTest.Run r = graft(trainArgs(data, run, "reference", "--weights", weights.toString(), "--unfreeze-from", "layer9")
                .toArray(String[]::new));
        assertOneErrorLine(r, "--unfreeze-from 'layer9': no module 'layer9'", "layer4");
        assertFalse(Files.exists(run.resolve("checkpoint.safetensors")), "refused before the first epoch");
    }

    @Test
    void resumingFromADamagedCheckpointSaysSo() throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("data"), 4, 8, 8);
        Path run = dir.resolve("run");
        TrainCommandTest.Run first = graft(trainArgs(data, run, "reference", "--head-epochs", "1", "--finetune-epochs", "2",
                "--stop-after-epochs", "1").toArray(String[]::new));
        assertEquals(0, first.code(), first.err());

        // A NaN written into the file after the fact: refused on reading, naming the tensor.
        Path nan = copy(run, dir.resolve("nan"));
        edit(nan, "model.fc.weight", Float.NaN);
        TrainCommandTest.Run r1 = graft("train", "--resume", nan.toString(), "--no-progress");
        assertOneErrorLine(r1, nan.resolve("checkpoint.safetensors") + " is corrupt: tensor model.fc.weight holds NaN at index 0");

        // Finite but absurd weights: the loss is NaN at once, and the message blames the checkpoint, not the training.
        Path huge = copy(run, dir.resolve("huge"));
        edit(huge, "model.conv1.weight", Float.MAX_VALUE);
        TrainCommandTest.Run r2 = graft("train", "--resume", huge.toString(), "--no-progress");
        assertOneErrorLine(r2, "in the first epoch after resuming from " + huge.resolve("checkpoint.safetensors"),
                "that checkpoint may itself be bad");
        assertFalse(r2.err().contains("intact"), r2.err());

        // The undamaged run resumes with the options a resumed run takes.
        TrainCommandTest.Run r3 = graft("train", "--resume", run.toString(), "--no-progress", "--workers", "1", "--strict",
                "--device", "reference");
        assertEquals(0, r3.code(), r3.out() + r3.err());
        assertTrue(StateDicts.read(run.resolve("best.safetensors")).metadata().get("graft.train_config").contains("\"strict\":true"));
    }

    private static Path copy(Path run, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(run)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    /** Rewrites {@code key} of the run's checkpoint with every value {@code value}. */
    private static void edit(Path run, String key, float value) {
        Path file = run.resolve("checkpoint.safetensors");
        StateDict sd = StateDicts.read(file);
        HostTensor t = sd.get(key);
        Arrays.fill(t.floats(), value);
        StateDicts.write(file, sd);
    }
}
