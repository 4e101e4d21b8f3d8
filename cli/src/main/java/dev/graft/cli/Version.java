package dev.graft.cli;

import picocli.CommandLine.IVersionProvider;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * {@code graft --version}: the version the build wrote into {@code version.properties} (the pom's), the git revision
 * of the checkout the launcher runs from (with "+ local changes" when tracked files differ from it), and the Java
 * runtime. The revision is asked of git only here, so no other command pays for it; without git or a checkout it is
 * left out.
 */
public final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        return new String[] {describe() + ", Java " + Runtime.version()};
    }

    /** "graft 0.1.0-SNAPSHOT, git 4db83b668e5c": what reports name as their writer. */
    public static String describe() {
        String revision = revision();
        return "graft " + version() + (revision == null ? "" : ", git " + revision);
    }

    /** The pom's version as the build filtered it in, or "unknown (built without Maven)" when it was not. */
    static String version() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version", "");
                if (!v.isBlank() && !v.contains("${")) {
                    return v.strip();
                }
            }
        } catch (IOException e) {
            // fall through: reported as unknown
        }
        return "unknown (built without Maven)";
    }

    /** The short revision of the checkout at -Dgraft.home (the launcher sets it), or null. */
    static String revision() {
        String home = System.getProperty("graft.home");
        if (home == null || !Files.isDirectory(Path.of(home, ".git"))) {
            return null;
        }
        String rev = git(home, "rev-parse", "--short=12", "HEAD");
        if (rev == null || rev.isBlank()) {
            return null;
        }
        String changes = git(home, "status", "--porcelain", "--untracked-files=no");
        return rev.strip() + (changes != null && !changes.isBlank() ? " + local changes" : "");
    }

    private static String git(String dir, String... args) {
        String[] cmd = new String[args.length + 3];
        cmd[0] = "git";
        cmd[1] = "-C";
        cmd[2] = dir;
        System.arraycopy(args, 0, cmd, 3, args.length);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(false).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 ? new String(out, StandardCharsets.UTF_8) : null;
        } catch (IOException e) {
            return null; // no git on this machine
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
