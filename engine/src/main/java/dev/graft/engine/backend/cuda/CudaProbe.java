package dev.graft.engine.backend.cuda;

import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.Loader;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finds out, without ever crashing the JVM, whether CUDA can run here. Order matters: the runtime is loaded and
 * asked {@code cudaGetDeviceCount} first, because runtime calls report a missing or old driver as a status,
 * while a driver-API call ({@code cu*}) whose symbol the installed {@code libcuda.so.1} lacks ends the process
 * with no report. Only functions present in CUDA 13.0 are called (the presets are built for 13.1).
 *
 * <p>This class is loaded only inside {@link CudaProvider#probe()}'s catch-all, so even a missing
 * {@code org.bytedeco:cuda} jar becomes a reason, not an error.
 */
final class CudaProbe {
    /** CUDA 13 supports compute capability 7.5 (Turing) and newer; so do NVRTC 13 and cuDNN 9 on CUDA 13. */
    static final int MIN_COMPUTE_CAPABILITY = 75;

    /** CUDA cannot run here; the message says why and what to do. */
    static final class Unavailable extends Exception {
        private static final long serialVersionUID = 1L;

        Unavailable(String reason) {
            super(reason, null, false, false);
        }
    }

    private CudaProbe() {
    }

    static CudaInfo run() throws Unavailable {
        load(cudart.class, "the CUDA runtime");
        int[] driver = new int[1];
        int[] runtime = new int[1];
        // cudaDriverGetVersion succeeds with 0 when there is no working driver; that case is reported below.
        status(cudart.cudaDriverGetVersion(driver), "cudaDriverGetVersion");
        status(cudart.cudaRuntimeGetVersion(runtime), "cudaRuntimeGetVersion");
        int[] count = new int[1];
        int rc = cudart.cudaGetDeviceCount(count);
        if (rc == cudart.cudaErrorInsufficientDriver && driver[0] == 0) {
            throw new Unavailable("the NVIDIA driver does not work: libcuda.so.1 loads but reports no CUDA version (a stub, "
                    + "or no kernel module); the CUDA runtime is " + CudaInfo.cudaVersion(runtime[0]));
        }
        if (rc == cudart.cudaErrorInsufficientDriver) {
            throw new Unavailable("the NVIDIA driver is too old: it supports CUDA " + CudaInfo.cudaVersion(driver[0])
                    + " but the CUDA runtime is " + CudaInfo.cudaVersion(runtime[0]) + "; CUDA 13 needs driver 580 or newer");
        }
        if (rc == cudart.cudaErrorNoDevice || (rc == 0 && count[0] == 0)) {
            throw new Unavailable("no CUDA device: the driver and runtime load but see no GPU"
                    + (System.getenv("CUDA_VISIBLE_DEVICES") != null ? " (CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES") + ")" : ""));
        }
        if (rc != 0) {
            throw new Unavailable("cudaGetDeviceCount failed: " + cudart.cudaGetErrorName(rc).getString() + " (" + rc + "): "
                    + cudart.cudaGetErrorString(rc).getString());
        }
        List<CudaInfo.DeviceInfo> devices = new ArrayList<>();
        for (int i = 0; i < count[0]; i++) {
            devices.add(device(i));
        }
        if (devices.stream().noneMatch(d -> d.computeCapability() >= MIN_COMPUTE_CAPABILITY)) {
            throw new Unavailable("no usable GPU: " + devices + " all have compute capability below 7.5, the minimum of CUDA 13");
        }

        load(cudnn.class, "cuDNN 9");
        long cudnnVersion = cudnn.cudnnGetVersion();
        if (cudnnVersion / 10000 != 9) {
            throw new Unavailable("cuDNN " + CudaInfo.cudnnVersion(cudnnVersion) + " was found, but the bindings need cuDNN 9");
        }
        load(cublas.class, "cuBLAS 13");
        int[] major = new int[1];
        int[] minor = new int[1];
        int[] patch = new int[1];
        status(cublas.cublasGetProperty(cudart.MAJOR_VERSION, major), "cublasGetProperty(MAJOR_VERSION)");
        status(cublas.cublasGetProperty(cudart.MINOR_VERSION, minor), "cublasGetProperty(MINOR_VERSION)");
        status(cublas.cublasGetProperty(cudart.PATCH_LEVEL, patch), "cublasGetProperty(PATCH_LEVEL)");
        String cublasVersion = major[0] + "." + minor[0] + "." + patch[0];
        load(nvrtc.class, "NVRTC 13");
        int[] nvMajor = new int[1];
        int[] nvMinor = new int[1];
        int nrc = nvrtc.nvrtcVersion(nvMajor, nvMinor);
        if (nrc != 0) {
            throw new Unavailable("nvrtcVersion failed with status " + nrc);
        }
        return new CudaInfo(driver[0], runtime[0], cudnnVersion, cublasVersion, nvMajor[0] + "." + nvMinor[0], devices);
    }

    private static CudaInfo.DeviceInfo device(int i) throws Unavailable {
        try (cudaDeviceProp p = new cudaDeviceProp()) {
            int rc = cudart.cudaGetDeviceProperties(p, i);
            if (rc != 0) {
                throw new Unavailable("cudaGetDeviceProperties(" + i + ") failed: " + cudart.cudaGetErrorString(rc).getString());
            }
            return new CudaInfo.DeviceInfo(i, p.name().getString().trim(), p.major(), p.minor(), p.totalGlobalMem());
        }
    }

    /** A failed query during the probe makes CUDA unavailable, with the call and its code as the reason. */
    private static void status(int code, String call) throws Unavailable {
        if (code != 0) {
            throw new Unavailable(call + " failed with status " + code);
        }
    }

    private static void load(Class<?> preset, String what) throws Unavailable {
        try {
            Loader.load(preset);
        } catch (Throwable t) {
            throw new Unavailable(explain(t, what));
        }
    }

    /** Turns a class-loading or linking failure into a reason a user can act on. */
    static String explain(Throwable t, String what) {
        StringBuilder all = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            all.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append('\n');
        }
        String text = all.toString();
        String lower = text.toLowerCase(Locale.ROOT);
        if ((t instanceof NoClassDefFoundError || t instanceof ClassNotFoundException) && lower.contains("org/bytedeco")
                || lower.contains("org.bytedeco.cuda") && t instanceof ClassNotFoundException) {
            return "the org.bytedeco:cuda jars are not on the class path (" + firstLine(t) + ")";
        }
        String[][] libraries = {
            {"libcuda.so", "no NVIDIA driver: libcuda.so.1 was not found (install the NVIDIA driver, or put its directory on LD_LIBRARY_PATH)"},
            {"libcudart.so", "the CUDA 13 runtime was not found: put the directory of libcudart.so.13 on LD_LIBRARY_PATH"},
            {"libcudnn", "cuDNN 9 was not found: put the directory of libcudnn.so.9 (and its libcudnn_*.so.9) on LD_LIBRARY_PATH"},
            {"libcublas", "cuBLAS 13 was not found: put the directory of libcublas.so.13 and libcublasLt.so.13 on LD_LIBRARY_PATH"},
            {"libnvrtc", "NVRTC 13 was not found: put the directory of libnvrtc.so.13 and libnvrtc-builtins.so.13.* on LD_LIBRARY_PATH"},
        };
        for (String[] lib : libraries) {
            if (lower.contains(lib[0] + ".") && lower.contains("cannot open shared object")
                    || lower.contains(lib[0]) && lower.contains("no such file")) {
                return lib[1];
            }
        }
        if (t instanceof UnsatisfiedLinkError) {
            return "cannot load " + what + " for " + System.getProperty("os.name") + "/" + System.getProperty("os.arch")
                    + ": " + firstLine(deepest(t));
        }
        return "cannot load " + what + ": " + firstLine(t);
    }

    private static Throwable deepest(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c;
    }

    private static String firstLine(Throwable t) {
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
