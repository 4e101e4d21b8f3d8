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

/** {@code --precision} on train and lr-find: a bad value is an option error naming it, before any work. */
class PrecisionCliTest {
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

    @Test
    void badPrecisionsAreOptionErrors(@TempDir Path dir) throws IOException {
        for (String c : new String[] {"a", "b"}) {
            Files.createDirectories(dir.resolve("d").resolve(c));
            Files.createFile(dir.resolve("d").resolve(c).resolve("x.png"));
        }
        String[][] cases = {{"fp16", "unknown precision 'fp16'"}, {"int8", "inference"}};
        for (String cmd : new String[] {"train", "lr-find"}) {
            for (String[] c : cases) {
                String[] r = run(cmd, "--data", dir.resolve("d").toString(), "--out", dir.resolve("run").toString(), "--no-progress",
                        "--precision", c[0]);
                assertEquals("2", r[0], cmd + " " + c[0] + ": " + r[1]);
                assertTrue(r[1].contains("--precision") && r[1].contains(c[1]), r[1]);
                assertFalse(r[1].contains("\tat "), r[1]);
                assertFalse(Files.exists(dir.resolve("run")), "nothing written");
            }
        }
    }
}
