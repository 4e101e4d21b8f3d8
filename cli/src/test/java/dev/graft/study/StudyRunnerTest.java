package dev.graft.study;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runner with a stand-in train command: parallel runs, output routed to each run's log, skip when done. */
class StudyRunnerTest {
    /** Writes a metrics.json whose test AUC encodes the seed (0.5 + seed / 100) and prints a line, as train would. */
    static Function<String[], Integer> fakeTrain(AtomicInteger calls) {
        return args -> {
            calls.incrementAndGet();
            List<String> a = List.of(args);
            Path out = Path.of(a.get(a.indexOf("--out") + 1));
            long seed = Long.parseLong(a.get(a.indexOf("--seed") + 1));
            System.out.println("training output of " + out.getFileName() + " " + Thread.currentThread().getName());
            System.err.println("a warning of " + out.getFileName());
            try {
                Files.createDirectories(out);
                Files.writeString(out.resolve("metrics.json"), "{\"validation\": {\"roc_auc\": 0.1}, \"test\": {\"roc_auc\": "
                        + (0.5 + seed / 100.0) + "}}");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return 0;
        };
    }

    @Test
    void runsInParallelRoutesEachRunsOutputToItsLogAndSkipsWhatIsDone(@TempDir Path dir) throws IOException {
        StudyConfig.Dataset d = new StudyConfig.Dataset("d", dir, null, null);
        StudyConfig cfg = new StudyConfig(dir.resolve("s.yaml"), List.of(new StudyConfig.Architecture("a", null, dir.resolve("w")),
                new StudyConfig.Architecture("b", "resnet18", dir.resolve("w"))), List.of("random", "pretrained"), List.of(d),
                List.of(1L, 2L), "auc", Map.of());
        AtomicInteger calls = new AtomicInteger();
        ByteArrayOutputStream terminal = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        List<StudyRunner.Outcome> o = new StudyRunner(cfg, dir.resolve("out"), 2, 1, "cpu", fakeTrain(calls),
                new PrintStream(terminal, true, StandardCharsets.UTF_8)).run();
        assertEquals(oldOut, System.out, "the terminal streams are put back");
        assertEquals(8, calls.get());
        String lines = terminal.toString(StandardCharsets.UTF_8);
        assertEquals(8, lines.lines().count(), lines);
        assertFalse(lines.contains("training output") || lines.contains("a warning"), lines);
        for (StudyRunner.Outcome x : o) {
            assertEquals(0.5 + x.cell().seed() / 100.0, x.value(), 1e-12);
            assertEquals("test", x.split());
            String log = Files.readString(x.cell().dir().resolve("train.log"));
            assertTrue(log.contains("training output of seed-" + x.cell().seed()) && log.contains("a warning of seed-"), log);
            assertTrue(Files.exists(x.cell().dir().resolve(StudyRunner.MARKER)));
        }
        calls.set(0);
        terminal.reset();
        new StudyRunner(cfg, dir.resolve("out"), 1, 1, "cpu", fakeTrain(calls), new PrintStream(terminal, true, StandardCharsets.UTF_8)).run();
        assertEquals(0, calls.get());
        assertEquals(8, terminal.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("skipped")).count());
    }

    @Test
    void aFailedRunIsReportedAndTheOthersStillRun(@TempDir Path dir) {
        StudyConfig cfg = new StudyConfig(dir.resolve("s.yaml"), List.of(new StudyConfig.Architecture("a", "resnet18", null)),
                List.of("random"), List.of(new StudyConfig.Dataset("d", dir, null, null)), List.of(1L, 2L), "auc", Map.of());
        AtomicInteger calls = new AtomicInteger();
        Function<String[], Integer> ok = fakeTrain(calls);
        List<StudyRunner.Outcome> o = new StudyRunner(cfg, dir.resolve("out"), 1, 1, "cpu",
                args -> String.join(" ", args).contains("--seed 1 ") ? 2 : ok.apply(args), new PrintStream(OutputStreamSink.INSTANCE)).run();
        assertTrue(o.get(0).status().startsWith("failed, exit code 2"), o.get(0).status());
        assertEquals(0.52, o.get(1).value(), 1e-12);
    }

    @Test
    void theCommandWritesTheTableFromWhatIsFinishedAndChecksParallel(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("data"));
        Path config = Files.writeString(dir.resolve("study.json"), """
                {"architectures": [{"name": "a", "arch": "resnet18"}], "initializations": ["random"],
                 "datasets": [{"name": "d", "data": "data"}], "seeds": [0, 1]}""");
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        int tooMany;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(out, true, StandardCharsets.UTF_8));
            code = dev.graft.cli.GraftCli.execute("study", "--config", config.toString(), "--out", dir.resolve("out").toString(),
                    "--report-only", "--metric", "accuracy");
            tooMany = dev.graft.cli.GraftCli.execute("study", "--config", config.toString(), "--out", dir.resolve("out").toString(),
                    "--parallel", "100000");
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertTrue(text.contains("2 runs") && text.contains("| a | - |") && text.contains("accuracy (argmax)"), text);
        assertTrue(Files.exists(dir.resolve("out/study.csv")) && Files.exists(dir.resolve("out/study-d.png")));
        assertEquals(2, tooMany, text);
        assertTrue(text.contains("--parallel 100000"), text);
        assertFalse(Files.exists(dir.resolve("out/runs")), "--report-only trains nothing");
    }

    /** Discards output. */
    static final class OutputStreamSink extends java.io.OutputStream {
        static final OutputStreamSink INSTANCE = new OutputStreamSink();

        @Override
        public void write(int b) {
        }
    }
}
