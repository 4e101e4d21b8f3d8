package dev.graft.engine.backend.cuda;

import dev.graft.engine.Device;
import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BackendProvider;

/**
 * Registers the cuda backend with {@link java.util.ServiceLoader}. Loading this class touches no native class;
 * {@link #probe()} does, inside a catch-all, and turns every failure (no jars, no driver, no runtime, an old
 * driver, no device, no cuDNN/cuBLAS/NVRTC) into a reason.
 */
public final class CudaProvider implements BackendProvider {
    private volatile CudaInfo info;

    @Override
    public Device.Kind kind() {
        return Device.Kind.CUDA;
    }

    @Override
    public Availability probe() {
        try {
            CudaInfo found = CudaProbe.run();
            info = found;
            return Availability.yes(found.summary());
        } catch (CudaProbe.Unavailable e) {
            return Availability.no(e.getMessage());
        } catch (Throwable t) {
            // NoClassDefFoundError (no jars), UnsatisfiedLinkError, anything else: a reason, never a crash.
            return Availability.no(CudaProbe.explain(t, "CUDA"));
        }
    }

    @Override
    public int deviceCount() {
        CudaInfo i = info;
        return i == null ? 0 : i.devices().size();
    }

    @Override
    public Backend open(int index) {
        CudaInfo i = info;
        if (i == null) {
            throw new IllegalStateException("open() before a successful probe()");
        }
        return CudaBackend.open(i, index, MathMode.configured());
    }
}
