package dev.graft.tests.train;

import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import dev.graft.train.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.graft.tests.train.TrainCommandTest.graft;
import static dev.graft.tests.train.TrainCommandTest.trainArgs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Ctrl-C on a real training process (SIGINT sent with {@code kill -INT} once its first epoch line is out): it exits
 * 130, says after which epoch it stopped and how to resume, leaves a loadable checkpoint of that epoch, history.json and
 * curves of the epochs done and no metrics.json; resumed, it ends bit for bit where an uninterrupted run ends
 * (reference backend).
 */
class InterruptTrainingTest {
    private static final long WAIT_MS = TimeUnit.MINUTES.toMillis(3);

    @Test
    void ctrlCSavesTheLastEpochAndResumesToTheSameEnd(@TempDir Path dir) throws Exception {
        Path data = SyntheticImages.folder(dir.resolve("data"), 8, 24, 24);
        Path weights = TrainCommandTest.pretrained(dir, data);
        String[] common = {"--weights", weights.toString(), "--head-epochs", "1", "--finetune-epochs", "3", "--augment", "crop=0.8,flip=0.5"};
        Path straight = dir.resolve("straight");
        TrainCommandTest.Run r0 = graft(trainArgs(data, straight, "reference", common).toArray(String[]::new));
        assertEquals(0, r0.code(), r0.out() + r0.err());

        Path run = dir.resolve("run");
        Path log = dir.resolve("log.txt");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), "-Dorg.bytedeco.javacpp.nopointergc=true", "dev.graft.cli.GraftCli"));
        cmd.addAll(trainArgs(data, run, "reference", common));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (!Files.exists(log) || Files.readAllLines(log).stream().noneMatch(l -> l.startsWith("head") && l.contains(" epoch "))) {
            if (!p.isAlive() || System.currentTimeMillis() > deadline) {
                p.destroyForcibly().waitFor();
                fail("no first epoch line from the training process:\n" + Files.readString(log));
            }
            Thread.sleep(5);
        }
        assertTrue(p.isAlive(), "the run ended before it could be interrupted");
        assertEquals(0, new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor());
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "the interrupted run did not exit");
        String text = Files.readString(log);
        assertEquals(130, p.exitValue(), text);

        Matcher m = Pattern.compile("interrupted after epoch (\\d+) of 4; resume with: graft train --resume " + Pattern.quote(run.toString()))
                .matcher(text);
        assertTrue(m.find(), text);
        int done = Integer.parseInt(m.group(1));
        System.out.println("interrupt test: the interrupted process printed\n" + text);
        assertTrue(done >= 1 && done < 4, "stopped after epoch " + done + " of 4, so the test did not interrupt a run in progress:\n" + text);
        assertFalse(text.contains("\tat "), "no stack trace: " + text);
        assertEquals(done, Checkpoint.read(run).state().epochsDone(), "the checkpoint holds the last finished epoch");
        assertEquals(done, new com.fasterxml.jackson.databind.ObjectMapper().readTree(run.resolve("history.json").toFile()).size());
        assertTrue(Files.size(run.resolve("plots/loss.png")) > 0);
        assertFalse(Files.exists(run.resolve("metrics.json")), "an interrupted run has no final metrics");

        TrainCommandTest.Run resumed = graft("train", "--resume", run.toString(), "--no-progress");
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        assertTrue(resumed.out().contains("resuming " + run + " after epoch " + done + " of 4"), resumed.out());
        for (String f : List.of("last.safetensors", "best.safetensors")) {
            StateDict a = StateDicts.read(straight.resolve(f));
            StateDict b = StateDicts.read(run.resolve(f));
            assertEquals(a.keys(), b.keys());
            for (String k : a.keys()) {
                assertEquals(a.get(k), b.get(k), f + " " + k + " differs after resuming");
            }
        }
        assertEquals(MoreTrainingTest.withoutTimings(straight), MoreTrainingTest.withoutTimings(run));
    }
}
