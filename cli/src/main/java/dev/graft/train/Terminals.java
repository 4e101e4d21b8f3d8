package dev.graft.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether this process writes to a terminal. Java 17's {@link System#console()} is non-null only when stdin and
 * stdout are both terminals and says nothing of stderr, where the bars go; on Linux, /proc/self/fd tells each
 * stream apart (a terminal is a /dev/pts/N or /dev/ttyX device; a pipe reads "pipe:[N]", a file its path).
 * Elsewhere the console is the answer.
 */
final class Terminals {
    private Terminals() {
    }

    /** Both stdout and stderr are terminals (bars on stderr would otherwise interleave with piped stdout lines). */
    static boolean interactive() {
        Boolean out = isTerminal(1);
        Boolean err = isTerminal(2);
        if (out == null || err == null) {
            return System.console() != null;
        }
        return out && err;
    }

    /** Whether file descriptor {@code fd} of this process is a terminal; null where /proc cannot say. */
    static Boolean isTerminal(int fd) {
        Path link = Path.of("/proc/self/fd/" + fd);
        try {
            String target = Files.readSymbolicLink(link).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }
}
