package dev.graft.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft train --init / --transfer-up-to / --init-above}: option errors before any work, and --resume refuses them. */
class InitOptionsCliTest {
    private static String[] run(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = GraftCli.execute(args);
        } finally {
            System.setErr(err);
        }
        return new String[] {Integer.toString(code), buf.toString(StandardCharsets.UTF_8)};
    }

    private static Path data(Path dir) throws IOException {
        for (String c : new String[] {"a", "b"}) {
            Files.createDirectories(dir.resolve(c));
            Files.createFile(dir.resolve(c).resolve("x.png"));
        }
        return dir;
    }

    @Test
    void errorsNameTheOptionAndNothingIsWritten(@TempDir Path dir) throws IOException {
        Path d = data(dir.resolve("d"));
        String[][] cases = {
            {"--init", "stats"},                                    // needs --weights
            {"--init", "imagenet"},                                 // unknown kind
            {"--transfer-up-to", "layer2"},                         // needs --weights
            {"--init-above", "stats"},                              // needs --transfer-up-to
        };
        String[] expected = {"--weights", "--init", "--weights", "--transfer-up-to"};
        for (int i = 0; i < cases.length; i++) {
            String[] r = run("train", "--data", d.toString(), "--out", dir.resolve("run").toString(), "--no-progress", cases[i][0], cases[i][1]);
            assertEquals("2", r[0], r[1]);
            assertTrue(r[1].contains(expected[i]), r[1]);
            assertFalse(r[1].contains("\tat "), r[1]);
            assertFalse(Files.exists(dir.resolve("run")), "nothing written for " + String.join(" ", cases[i]));
        }
    }

    @Test
    void resumeKeepsTheSavedInitAndRefusesANewOne(@TempDir Path dir) {
        String[] r = run("train", "--resume", dir.toString(), "--init", "stats");
        assertEquals("2", r[0], r[1]);
        assertTrue(r[1].contains("--init") && r[1].contains("cannot be given with it"), r[1]);
    }
}
