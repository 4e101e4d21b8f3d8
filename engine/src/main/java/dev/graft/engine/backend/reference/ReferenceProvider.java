package dev.graft.engine.backend.reference;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BackendProvider;

/** Always available: plain Java, no native code. */
public final class ReferenceProvider implements BackendProvider {
    @Override
    public Device.Kind kind() {
        return Device.Kind.REFERENCE;
    }

    @Override
    public Availability probe() {
        return Availability.yes("plain Java loops, F32 and F64, Java " + Runtime.version());
    }

    @Override
    public Backend open(int index) {
        return new ReferenceBackend();
    }
}
