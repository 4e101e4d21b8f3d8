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
        List<String> args = new ArrayList<>(TrainCommandTest.trainArgs(data, run, "cpu", "--head-epochs", "20", "--finetune-epochs", "40"));
        int kills = 0;
        long[] delaysMs = {2500, 1300, 1700, 2100};
        for (long delay : delaysMs) {
            List<String> cmd = new ArrayList<>(List.of(javaBin(), "-cp", System.getProperty("java.class.path"),
                    "-Dorg.bytedeco.javacpp.nopointergc=true", "dev.graft.cli.GraftCli"));
            cmd.addAll(kills == 0 ? args : List.of("train", "--resume", run.toString(), "--no-progress"));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log" + kills + ".txt").toFile()).start();
            if (!p.waitFor(delay, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                kills++;
            } else {
                break;
            }
            assertLoadable(run);
        }
        assertTrue(kills >= 2, "at least two kills landed mid-run (" + kills + ")");
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
