package dev.graft.tests.gpu;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.Backends;
import org.junit.jupiter.api.Assumptions;

import static org.junit.jupiter.api.Assertions.fail;

/** The cuda:0 device for gpu-tagged tests: skipped with the probe's reason, or failed under -Dgpu.required=true. */
final class Gpu {
    private Gpu() {
    }

    static Device require() {
        Availability a = Backends.availability(Device.Kind.CUDA);
        if (!a.available()) {
            String reason = "no usable CUDA device: " + a.detail();
            if (Boolean.getBoolean("gpu.required")) {
                fail(reason + " (and -Dgpu.required=true)");
            }
            Assumptions.abort(reason);
        }
        return Device.cuda(0);
    }

    /** The backend the GPU results are compared with: cpu (oneDNN) when it loads, else the reference. */
    static Device comparison() {
        return Backends.availability(Device.Kind.CPU).available() ? Device.CPU : Device.REFERENCE;
    }
}
