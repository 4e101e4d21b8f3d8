package dev.graft.engine.backend;

import dev.graft.engine.Device;
import dev.graft.engine.DeviceException;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.function.UnaryOperator;

/**
 * Finds backends and hands out one instance per device. {@code auto} picks cuda when a GPU and its
 * libraries load, else cpu (oneDNN), else reference, and says which and why.
 */
public final class Backends {
    private static final Map<Device.Kind, BackendProvider> PROVIDERS = new EnumMap<>(Device.Kind.class);
    private static final Map<Device.Kind, Availability> PROBES = new EnumMap<>(Device.Kind.class);
    private static final Map<Device, Backend> OPEN = new HashMap<>();

    static {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader())) {
            PROVIDERS.putIfAbsent(p.kind(), p);
        }
    }

    private Backends() {
    }

    /** The outcome of resolving a device name, with the reasons for skipping the preferred ones. */
    public record Selection(Device device, List<String> notes) {
    }

    /** Availability of each backend kind, probing each once. */
    public static synchronized Availability availability(Device.Kind kind) {
        return PROBES.computeIfAbsent(kind, k -> {
            BackendProvider p = PROVIDERS.get(k);
            if (p == null) {
                return Availability.no("no " + k.name().toLowerCase() + " backend on the class path");
            }
            try {
                return p.probe();
            } catch (Throwable t) {
                return Availability.no(t.getClass().getSimpleName() + ": " + t.getMessage());
            }
        });
    }

    public static synchronized int deviceCount(Device.Kind kind) {
        return availability(kind).available() ? PROVIDERS.get(kind).deviceCount() : 0;
    }

    /** Resolves {@code auto}, {@code cpu}, {@code reference}, {@code cuda[:N]}; a named but unusable device is an error. */
    public static Selection resolve(String name) {
        if (!name.trim().equalsIgnoreCase("auto")) {
            Device d = Device.parse(name);
            get(d);
            return new Selection(d, List.of());
        }
        List<String> notes = new ArrayList<>();
        for (Device.Kind k : new Device.Kind[] {Device.Kind.CUDA, Device.Kind.CPU}) {
            Availability a = availability(k);
            if (a.available()) {
                Device d = new Device(k, 0);
                notes.add("using " + d + ": " + a.detail());
                return new Selection(d, notes);
            }
            notes.add(k.name().toLowerCase() + " unavailable: " + a.detail());
        }
        notes.add("using reference: plain Java kernels");
        return new Selection(Device.REFERENCE, notes);
    }

    /** The backend of {@code device}, opened on first use. */
    public static synchronized Backend get(Device device) {
        Backend b = OPEN.get(device);
        if (b != null) {
            return b;
        }
        Availability a = availability(device.kind());
        if (!a.available()) {
            throw new DeviceException("device " + device + " is unavailable: " + a.detail()
                    + "; use --device auto (or cpu, reference) instead");
        }
        BackendProvider p = PROVIDERS.get(device.kind());
        if (device.index() < 0 || device.index() >= p.deviceCount()) {
            throw new DeviceException("device " + device + " does not exist: " + p.deviceCount() + " "
                    + device.kind().name().toLowerCase() + " device(s) found");
        }
        b = p.open(device.index());
        OPEN.put(device, b);
        return b;
    }

    /**
     * Wraps the backend of {@code device} (tests count kernel calls this way). Arrays made before the call
     * keep the old instance; close the returned handle to restore it.
     */
    public static synchronized AutoCloseable decorate(Device device, UnaryOperator<Backend> decorator) {
        Backend original = get(device);
        Backend wrapped = decorator.apply(original);
        OPEN.put(device, wrapped);
        return () -> {
            synchronized (Backends.class) {
                OPEN.put(device, original);
            }
        };
    }
}
