package dev.graft.tests.train;

import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kills a real training process (SIGKILL) at several moments and checks that every model file and checkpoint
 * left behind loads, and that the run resumes to the end. The epochs are tiny, so kills land in all phases of
 * the loop, including while files are being written.
 */
class KillDuringTrainingTest {

    @Test
    void killedRunsLeaveLoadableFilesAndResume(@TempDir Path dir) throws Exception {
        Path data = SyntheticImages.folder(dir.resolve("data"), 7, 24, 24);
        Path run = dir.resolve("run");
        List<String> args = new ArrayList<>(TrainCommandTest.trainArgs(data, run, "cpu", "--head-epochs", "10", "--finetune-epochs", "20"));
        int kills = 0;
        // Kill delays after the first checkpoint exists (round 0) or after start (resumed rounds), in ms.
        long[] delaysMs = {400, 1500, 1100, 1900};
        for (int round = 0; round < delaysMs.length; round++) {
            List<String> cmd = new ArrayList<>(List.of(javaBin(), "-cp", System.getProperty("java.class.path"),
                    "-Dorg.bytedeco.javacpp.nopointergc=true", "dev.graft.cli.GraftCli"));
            cmd.addAll(round == 0 ? args : List.of("train", "--resume", run.toString(), "--no-progress"));
            Path log = dir.resolve("log" + round + ".txt");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (round == 0) {
                // Wait for the first checkpoint, however slow the machine, so there is something to resume.
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
                while (p.isAlive() && !Files.exists(run.resolve("checkpoint.safetensors")) && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
            }
            if (p.waitFor(delaysMs[round], TimeUnit.MILLISECONDS)) {
                assertEquals(0, p.exitValue(), Files.readString(log));
                break;
            }
            p.destroyForcibly().waitFor();
            kills++;
            assertLoadable(run);
        }
        Process last = new ProcessBuilder(javaBin(), "-cp", System.getProperty("java.class.path"), "-Dorg.bytedeco.javacpp.nopointergc=true",
                "dev.graft.cli.GraftCli", "train", "--resume", run.toString(), "--no-progress")
                .redirectErrorStream(true).redirectOutput(dir.resolve("final.txt").toFile()).start();
        assertTrue(last.waitFor(5, TimeUnit.MINUTES));
        assertEquals(0, last.exitValue(), Files.readString(dir.resolve("final.txt")));
        assertTrue(Files.exists(run.resolve("metrics.json")));
        assertLoadable(run);
    }

    private static void assertLoadable(Path run) throws IOException {
        if (!Files.isDirectory(run)) {
            return;
        }
        try (var files = Files.list(run)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
                assertTrue(StateDicts.read(f).size() > 0, f + " loads");
            }
        }
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
