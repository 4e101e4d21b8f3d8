package dev.graft.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft --version} states the pom's version, and a revision only where there is a checkout to ask. */
class VersionTest {
    @Test
    void theVersionIsThePomsAsTheBuildFilteredItIn() throws IOException {
        // The parent pom's own version, read from the file, not through the build.
        String pom = Files.readString(Path.of("..", "pom.xml"));
        Matcher m = Pattern.compile("<artifactId>graft-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find(), "the parent pom names its version");
        assertEquals(m.group(1), Version.version());
        assertTrue(new Version().getVersion()[0].startsWith("graft " + m.group(1)), new Version().getVersion()[0]);
    }

    private static boolean gitRuns() {
        try {
            return new ProcessBuilder("git", "--version").start().waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Test
    void aRevisionOnlyFromACheckout(@TempDir Path empty) {
        String before = System.getProperty("graft.home");
        try {
            System.setProperty("graft.home", empty.toString());
            assertNull(Version.revision(), "no .git here");
            Path root = Path.of("..").toAbsolutePath().normalize();
            if (Files.isDirectory(root.resolve(".git"))) { // CI runs on a clone; a source tarball has no .git
                System.setProperty("graft.home", root.toString());
                String r = Version.revision();
                if (gitRuns()) {
                    assertTrue(r != null && r.matches("[0-9a-f]{12}( \\+ local changes)?"), r);
                } else {
                    assertNull(r, "no git to ask");
                }
            }
        } finally {
            if (before == null) {
                System.clearProperty("graft.home");
            } else {
                System.setProperty("graft.home", before);
            }
        }
    }
}
