package dev.graft.tests.cli;

import dev.graft.cli.GraftCli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs {@code graft} in-process through {@link GraftCli#execute}, capturing stdout and stderr. */
final class Cli {
    private Cli() {
    }

    record Run(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static synchronized Run run(Object... args) {
        String[] argv = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            argv[i] = args[i].toString();
        }
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = GraftCli.execute(argv);
        } finally {
            System.out.flush();
            System.err.flush();
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Runs and asserts success (exit 0, nothing on stderr). */
    static Run ok(Object... args) {
        Run r = run(args);
        assertEquals(0, r.exitCode(), () -> r.toString());
        return r;
    }

    /** Runs and asserts a user error: exit code 2 and exactly one line on stderr, with no stack trace, containing every fragment. */
    static Run userError(Object[] args, String... fragments) {
        Run r = run(args);
        assertEquals(2, r.exitCode(), () -> r.toString());
        String err = r.err().strip();
        assertFalse(err.isEmpty(), "no message on stderr");
        assertFalse(err.contains("\n"), () -> "more than one line on stderr:\n" + r.err());
        assertTrue(err.startsWith("graft "), err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), () -> "looks like a stack trace or exception name: " + err);
        for (String f : fragments) {
            assertTrue(err.contains(f), () -> "stderr lacks '" + f + "': " + err);
        }
        return r;
    }

    static Object[] args(Object... a) {
        return a;
    }

    /** A committed fixture under tests/src/test/resources/cli (made by make_cli_fixtures.py). */
    static Path fixture(String name) {
        try {
            return Path.of(Cli.class.getResource("/cli/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing fixture cli/" + name + "; run make_cli_fixtures.py", e);
        }
    }
}
