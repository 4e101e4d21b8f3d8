package dev.graft.tests.cli;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.Backends;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft doctor} on this machine: every backend listed with its version or the reason it is unavailable,
 * exit 0 when the available ones agree with the reference; {@code --require-cuda} exits 1 with the reason where
 * CUDA is unusable (CI machines: reference and cpu available, cuda not).
 */
class DoctorCommandTest {
    @Test
    void listsEveryBackendAndPasses() {
        Cli.Run r = Cli.ok("doctor");
        for (Device.Kind kind : Device.Kind.values()) {
            Availability a = Backends.availability(kind);
            String name = kind.name().toLowerCase(Locale.ROOT);
            assertFalse(a.detail().isBlank(), name + " has a version or a reason");
            assertTrue(r.out().lines().anyMatch(l -> l.trim().startsWith(name) && l.contains(a.available() ? "available" : "unavailable")
                    && l.contains(a.detail())), () -> name + " line with '" + a.detail() + "' missing:\n" + r.out());
        }
        assertTrue(Backends.availability(Device.Kind.REFERENCE).available());
        assertTrue(r.out().contains("reference forward+backward") && r.out().contains("OK"), r::toString);
        assertTrue(r.out().strip().endsWith("graft doctor: all available backends agree"
                + (Backends.availability(Device.Kind.CUDA).available() ? ", cuda smoke run included" : "")), r::toString);
    }

    @Test
    void requireCudaExitsOneWithTheReasonWhereCudaIsUnusable() {
        Availability cuda = Backends.availability(Device.Kind.CUDA);
        Assumptions.assumeFalse(cuda.available(), "CUDA is usable here; this checks a machine without it");
        Cli.Run r = Cli.run("doctor", "--require-cuda");
        assertEquals(1, r.exitCode(), r::toString);
        assertEquals("graft doctor: --require-cuda: CUDA is not usable here: " + cuda.detail(), r.err().strip(), r::toString);
        assertTrue(r.out().contains("cpu") && r.out().contains("reference"), "the report still comes first: " + r);
    }
}
