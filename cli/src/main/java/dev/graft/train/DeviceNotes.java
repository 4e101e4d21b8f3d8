package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Backends;

import java.util.List;

/**
 * Which of a device choice's notes a command prints. The choice itself ("using cpu: oneDNN ...") always; why a
 * faster backend was passed over ("cuda unavailable: the org.bytedeco:cuda jars are not on the class path") only
 * under {@code --verbose}, or when auto had to fall back to the slow pure-Java reference backend, where the reason
 * is the news. A device named explicitly is never a fallback: when it cannot be used, that is an error.
 */
public final class DeviceNotes {
    private static volatile boolean verbose;

    private DeviceNotes() {
    }

    /** Set by {@code graft --verbose} (any command) for the process; {@code GraftCli.execute} resets it per run. */
    public static void verbose(boolean on) {
        verbose = on;
    }

    public static boolean verbose() {
        return verbose;
    }

    public static List<String> shown(Backends.Selection selection) {
        if (verbose || selection.device().equals(Device.REFERENCE)) {
            return selection.notes();
        }
        return selection.notes().stream().filter(n -> !n.contains(" unavailable: ")).toList();
    }
}
