package dev.graft.tests.train;

import dev.graft.engine.Device;
import dev.graft.loaders.StateDicts;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Kills a real training process (SIGKILL) in each phase of the loop and checks that every model file and checkpoint
 * left behind loads, and that the run resumes to the end. Each kill is aimed by watching the process and then
 * verified, so the test fails rather than passes vacuously when a kill misses its moment:
 * <ol>
 *   <li>in phase 1 (frozen backbone): after its first epoch line, before phase 2 is announced;</li>
 *   <li>in phase 2 (fine-tuning): after its first epoch line;</li>
 *   <li>while a file is being written: at the first sight of a temporary file in the run folder; a kill that
 *       landed mid-write leaves that temporary file behind, and the test retries (resuming each time) until one
 *       did.</li>
 * </ol>
 * The network is a ResNet-10 at half torchvision's width (stem 16, planes 32..256: 1.2M parameters, 5 MB of weights
 * and 15 MB of checkpoint with the optimizer's state), starting from saved random weights so that the run has both
 * phases, on 16x16 images: epochs take a second or two, and a file takes long enough to write that a kill at first
 * sight of its temporary file usually lands inside the write.
 */
class KillDuringTrainingTest {
    private static final String ARCH = "block=basic layers=1,1,1,1 groups=1 width_per_group=64 stem=16 planes=32,64,128,256 classes=2 in_channels=3";
    private static final long WAIT_MS = TimeUnit.MINUTES.toMillis(3);

    @Test
    void killedRunsLeaveLoadableFilesAndResume(@TempDir Path dir) throws Exception {
        Path data = SyntheticImages.folder(dir.resolve("data"), 7, 24, 24);
        Path run = dir.resolve("run");
        Path weights = dir.resolve("start.safetensors");
        try (ResNet start = ResNet.builder(ResNetConfig.parse(ARCH)).device(Device.REFERENCE).seed(1).build()) {
            StateDicts.write(weights, start.stateDict());
        }
        List<String> first = new ArrayList<>(TrainCommandTest.trainArgs(data, run, "cpu", "--weights", weights.toString(),
                "--head-epochs", "3", "--finetune-epochs", "14"));
        first.set(first.indexOf("--arch") + 1, ARCH);
        List<String> resume = List.of("train", "--resume", run.toString(), "--no-progress");

        // 1. Phase 1.
        Path log1 = dir.resolve("log-head.txt");
        Process p = start(first, log1);
        awaitLine(p, log1, l -> l.startsWith("head") && l.contains(" epoch "), "a phase-1 epoch line");
        kill(p);
        String text = Files.readString(log1);
        assertFalse(text.contains("phase finetune"), "the first kill was meant for phase 1, but phase 2 had started:\n" + text);
        assertLoadable(run);

        // 2. Phase 2.
        Path log2 = dir.resolve("log-finetune.txt");
        p = start(resume, log2);
        awaitLine(p, log2, l -> l.startsWith("finetune") && l.contains(" epoch "), "a phase-2 epoch line");
        kill(p);
        assertFalse(Files.exists(run.resolve("metrics.json")), "the second kill was meant for phase 2, but the run had finished");
        assertLoadable(run);

        // 3. Mid-write.
        boolean midWrite = false;
        int attempts = 0;
        for (int attempt = 0; attempt < 10 && !midWrite; attempt++) {
            attempts++;
            Path log = dir.resolve("log-write" + attempt + ".txt");
            p = start(resume, log);
            long deadline = System.currentTimeMillis() + WAIT_MS;
            while (temporaryFiles(run).isEmpty()) {
                if (!p.isAlive() || System.currentTimeMillis() > deadline) {
                    fail("no temporary file appeared while the run was alive (attempt " + attempt + "):\n" + Files.readString(log));
                }
                Thread.onSpinWait();
            }
            kill(p);
            midWrite = !temporaryFiles(run).isEmpty();
            assertLoadable(run);
        }
        assertTrue(midWrite, "no kill landed while a file was being written in 10 attempts");
        System.out.println("kill test: a kill landed mid-write at attempt " + attempts);

        // 4. To the end; the resumed run clears what the mid-write kill left.
        Path last = dir.resolve("log-final.txt");
        p = start(resume, last);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the final resume did not finish");
        assertEquals(0, p.exitValue(), Files.readString(last));
        assertTrue(Files.exists(run.resolve("metrics.json")));
        assertTrue(temporaryFiles(run).isEmpty(), "temporary files left after the run finished: " + temporaryFiles(run));
        assertLoadable(run);
    }

    private static Process start(List<String> args, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(javaBin(), "-cp", System.getProperty("java.class.path"),
                "-Dorg.bytedeco.javacpp.nopointergc=true", "dev.graft.cli.GraftCli"));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Waits until the process has printed a line matching {@code line}; fails if it exits or times out first. */
    private static void awaitLine(Process p, Path log, Predicate<String> line, String what) throws Exception {
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (System.currentTimeMillis() < deadline) {
            if (Files.exists(log) && Files.readAllLines(log).stream().anyMatch(line)) {
                return;
            }
            if (!p.isAlive()) {
                fail("the process exited (" + p.exitValue() + ") before printing " + what + ":\n" + Files.readString(log));
            }
            Thread.sleep(5);
        }
        p.destroyForcibly().waitFor();
        fail("no " + what + " within " + WAIT_MS / 1000 + " s:\n" + Files.readString(log));
    }

    private static void kill(Process p) throws InterruptedException {
        assertTrue(p.isAlive(), "the process ended before it could be killed");
        p.destroyForcibly().waitFor();
    }

    /** Files that an interrupted atomic write leaves: {@code .NAME.HEX.tmp} and the report's {@code .json*.tmp}. */
    private static List<Path> temporaryFiles(Path run) throws IOException {
        if (!Files.isDirectory(run)) {
            return List.of();
        }
        try (var files = Files.list(run)) {
            return files.filter(f -> {
                String n = f.getFileName().toString();
                return n.startsWith(".") && n.endsWith(".tmp");
            }).toList();
        }
    }

    private static void assertLoadable(Path run) throws IOException {
        assertTrue(Files.isDirectory(run), "the run folder " + run + " does not exist");
        assertTrue(Files.exists(run.resolve("checkpoint.safetensors")), "no checkpoint in " + run);
        try (var files = Files.list(run)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).toList()) {
                assertTrue(StateDicts.read(f).size() > 0, f + " loads");
            }
        }
    }

    private static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
