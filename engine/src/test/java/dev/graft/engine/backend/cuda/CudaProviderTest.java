package dev.graft.engine.backend.cuda;

import dev.graft.engine.Device;
import dev.graft.engine.DeviceException;
import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.Backends;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs everywhere (no gpu tag). Where CUDA is unusable (CI, this project's machines) the provider must say why and
 * the JVM must keep running; where it is usable, the same checks see a device instead.
 */
class CudaProviderTest {

    @Test
    void providerIsFoundAndReportsAvailabilityWithAReason() {
        Availability a = Backends.availability(Device.Kind.CUDA);
        assertFalse(a.detail().isBlank(), "availability must explain itself");
        assertFalse(a.detail().startsWith("no cuda backend on the class path"), "CudaProvider must be registered: " + a.detail());
        if (a.available()) {
            assertTrue(a.detail().contains("cuda:0"), a.detail());
            assertTrue(Backends.deviceCount(Device.Kind.CUDA) >= 1);
        } else {
            assertEquals(0, Backends.deviceCount(Device.Kind.CUDA));
            System.out.println("cuda unavailable here, as expected without a GPU: " + a.detail());
        }
    }

    @Test
    void autoFallsBackWithTheReasonWhenCudaIsUnavailable() {
        Availability a = Backends.availability(Device.Kind.CUDA);
        Backends.Selection s = Backends.resolve("auto");
        if (a.available()) {
            assertEquals(Device.cuda(0), s.device());
        } else {
            assertNotEquals(Device.Kind.CUDA, s.device().kind());
            assertTrue(s.notes().contains("cuda unavailable: " + a.detail()), s.notes().toString());
        }
    }

    @Test
    void namingCudaWhereItIsUnavailableIsADeviceException() {
        Availability a = Backends.availability(Device.Kind.CUDA);
        if (a.available()) {
            DeviceException e = assertThrows(DeviceException.class, () -> Backends.get(Device.cuda(99)));
            assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
            return;
        }
        DeviceException e = assertThrows(DeviceException.class, () -> Backends.resolve("cuda"));
        assertTrue(e.getMessage().contains("cuda:0 is unavailable: " + a.detail()), e.getMessage());
        assertThrows(DeviceException.class, () -> Backends.get(Device.cuda(0)));
    }

    @Test
    void providerProbeIsRepeatableAndNeverThrows() {
        CudaProvider p = new CudaProvider();
        Availability first = p.probe();
        Availability second = p.probe();
        assertEquals(first.available(), second.available());
        assertEquals(Device.Kind.CUDA, p.kind());
    }

    @Test
    void linkErrorsBecomeActionableReasons() {
        UnsatisfiedLinkError noDriver = new UnsatisfiedLinkError("no jnicudart in java.library.path: /usr/lib");
        noDriver.initCause(new UnsatisfiedLinkError("/tmp/javacpp/libjnicudart.so: libcuda.so.1: cannot open shared object file: No such file or directory"));
        assertTrue(CudaProbe.explain(noDriver, "the CUDA runtime").startsWith("no NVIDIA driver"), CudaProbe.explain(noDriver, "x"));

        UnsatisfiedLinkError noRuntime = new UnsatisfiedLinkError("no jnicudart in java.library.path");
        noRuntime.initCause(new UnsatisfiedLinkError("libjnicudart.so: libcudart.so.13: cannot open shared object file: No such file or directory"));
        assertTrue(CudaProbe.explain(noRuntime, "the CUDA runtime").contains("CUDA 13 runtime was not found"));

        UnsatisfiedLinkError noCudnn = new UnsatisfiedLinkError("no jnicudnn");
        noCudnn.initCause(new UnsatisfiedLinkError("libjnicudnn.so: libcudnn.so.9: cannot open shared object file"));
        assertTrue(CudaProbe.explain(noCudnn, "cuDNN 9").startsWith("cuDNN 9 was not found"));

        NoClassDefFoundError noJars = new NoClassDefFoundError("org/bytedeco/cuda/global/cudart");
        assertTrue(CudaProbe.explain(noJars, "CUDA").contains("org.bytedeco:cuda jars are not on the class path"));

        assertTrue(CudaProbe.explain(new UnsatisfiedLinkError("something else"), "NVRTC 13").startsWith("cannot load NVRTC 13 for "));
    }

    @Test
    void versionsPrintAsTheLibrariesNumberThem() {
        assertEquals("13.0", CudaInfo.cudaVersion(13000));
        assertEquals("12.8", CudaInfo.cudaVersion(12080));
        assertEquals("none", CudaInfo.cudaVersion(0));
        assertEquals("9.19.0", CudaInfo.cudnnVersion(91900));
    }
}
