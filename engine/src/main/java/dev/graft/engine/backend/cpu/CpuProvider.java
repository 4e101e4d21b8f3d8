package dev.graft.engine.backend.cpu;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BackendProvider;

/**
 * Finds the oneDNN cpu backend. Loading this class touches no {@code org.bytedeco} class: {@link #probe()}
 * loads oneDNN and creates an engine inside a catch-all, and says exactly why it could not (jars missing from
 * the class path, native library not loadable on this platform, engine creation failing).
 */
public final class CpuProvider implements BackendProvider {
    @Override
    public Device.Kind kind() {
        return Device.Kind.CPU;
    }

    @Override
    public Availability probe() {
        try {
            return Availability.yes(CpuBackend.probe());
        } catch (Throwable t) {
            return Availability.no(reason(t));
        }
    }

    @Override
    public Backend open(int index) {
        return new CpuBackend();
    }

    static String reason(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String detail = root.getClass().getSimpleName() + ": " + root.getMessage();
        if (root instanceof NoClassDefFoundError || root instanceof ClassNotFoundException || root instanceof TypeNotPresentException) {
            return "oneDNN classes are not on the class path (add org.bytedeco:dnnl-platform:3.11-1.5.13 and run with "
                    + "-Djavacpp.platform=linux-x86_64 or your platform): " + detail;
        }
        if (root instanceof UnsatisfiedLinkError) {
            return "the oneDNN native library did not load (is the dnnl jar for this platform, "
                    + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ", on the class path?): " + detail;
        }
        return "oneDNN failed to start: " + detail;
    }
}
