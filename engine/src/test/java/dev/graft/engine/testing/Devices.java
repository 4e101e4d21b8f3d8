package dev.graft.engine.testing;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Backends;

import java.util.ArrayList;
import java.util.List;

/** The devices a test body runs on: device 0 of every backend kind that is available here (reference always). */
public final class Devices {
    private Devices() {
    }

    public static List<Device> available() {
        List<Device> out = new ArrayList<>();
        for (Device.Kind kind : Device.Kind.values()) {
            if (Backends.availability(kind).available()) {
                out.add(new Device(kind, 0));
            }
        }
        return out;
    }
}
