package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AdamWSpec;
import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.SgdSpec;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Discovery, the probe's report, what the backend declares, and version bumps of every in-place kernel. */
class CpuProviderTest {

    @Test
    void probeReportsVersionIsaAndThreads() {
        Availability a = Backends.availability(Device.Kind.CPU);
        assertTrue(a.available(), a.detail());
        assertTrue(a.detail().contains("oneDNN 3.11"), a.detail());
        assertTrue(a.detail().contains("ISA"), a.detail());
        assertTrue(a.detail().contains(CpuBackend.threads() + " threads"), a.detail());
        assertSame(Oracle.CPU, Backends.get(Device.CPU));
        assertTrue(Oracle.CPU.description().startsWith("cpu: oneDNN"), Oracle.CPU.description());
        assertEquals(Device.CPU, Backends.resolve("cpu").device());
    }

    @Test
    void declaresF32AndChannelsLast() {
        assertTrue(Oracle.CPU.supports(DType.F32));
        assertFalse(Oracle.CPU.supports(DType.F64));
        assertEquals(Layout.CHANNELS_LAST, Oracle.CPU.activationLayout());
    }

    /**
     * The engine's own classes without JavaCPP or oneDNN on the class path: the provider class still loads and
     * instantiates, and probe() explains what is missing instead of throwing.
     */
    @Test
    void probeWithoutOneDnnJarsSaysWhy() throws Exception {
        URL engineClasses = CpuProvider.class.getProtectionDomain().getCodeSource().getLocation();
        try (URLClassLoader isolated = new URLClassLoader(new URL[] {engineClasses}, ClassLoader.getPlatformClassLoader())) {
            Class<?> provider = Class.forName(CpuProvider.class.getName(), true, isolated);
            Object instance = provider.getConstructor().newInstance();
            Object availability = provider.getMethod("probe").invoke(instance);
            Method available = availability.getClass().getMethod("available");
            Method detail = availability.getClass().getMethod("detail");
            assertFalse((Boolean) available.invoke(availability));
            String why = (String) detail.invoke(availability);
            assertTrue(why.contains("not on the class path") && why.contains("dnnl-platform"), why);
        }
    }

    /** Cached weight reorders refresh on version changes, so every in-place write must bump its target. */
    @Test
    void inPlaceKernelsBumpVersions() {
        Backend cpu = Oracle.CPU;
        try (Scope s = Scope.open()) {
            NDArray a = cpu.fromHost(new float[] {1, 2, 3, 4}, Shape.of(4));
            NDArray b = cpu.fromHost(new float[] {1, 1, 1, 1}, Shape.of(4));
            NDArray m = cpu.zeros(DType.F32, Shape.of(4));
            NDArray v = cpu.zeros(DType.F32, Shape.of(4));
            bumps(a, x -> cpu.fill(x, 2));
            bumps(a, x -> cpu.scaleInPlace(x, 2));
            bumps(a, x -> cpu.axpyInPlace(x, 2, b));
            bumps(a, x -> cpu.copyInto(x, b));
            bumps(a, x -> cpu.copyFromHost(x, new float[] {5, 6, 7, 8}));
            bumps(a, x -> cpu.sgdUpdate(x, b, null, new SgdSpec(0.1, 0, 0, 0, false), true));
            bumps(m, x -> cpu.sgdUpdate(a, b, x, new SgdSpec(0.1, 0.9, 0, 0, false), true));
            bumps(a, x -> cpu.adamwUpdate(x, b, m, v, new AdamWSpec(1e-3, 0.9, 0.999, 1e-8, 0), 1));
            bumps(m, x -> cpu.adamwUpdate(a, b, x, v, new AdamWSpec(1e-3, 0.9, 0.999, 1e-8, 0), 2));
            bumps(v, x -> cpu.adamwUpdate(a, b, m, x, new AdamWSpec(1e-3, 0.9, 0.999, 1e-8, 0), 3));
        }
    }

    private static void bumps(NDArray a, Consumer<NDArray> write) {
        int before = a.buffer().version();
        write.accept(a);
        assertTrue(a.buffer().version() > before, "version of the written buffer");
    }
}
