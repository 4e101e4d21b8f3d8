package dev.graft.engine.backend;

import dev.graft.engine.Device;

/**
 * A backend implementation, found through {@link java.util.ServiceLoader}. Loading the provider class must
 * not touch native classes: {@link #probe()} does that, catches every failure (missing jars, missing
 * libraries, no device) and reports it, and never lets the JVM crash.
 */
public interface BackendProvider {

    Device.Kind kind();

    /** Checks, once, whether the backend can run here. */
    Availability probe();

    /** Number of devices of this kind (1 for host backends). Only called when {@link #probe()} said yes. */
    default int deviceCount() {
        return 1;
    }

    /** Creates the backend for device {@code index}. Only called when {@link #probe()} said yes. */
    Backend open(int index);
}
