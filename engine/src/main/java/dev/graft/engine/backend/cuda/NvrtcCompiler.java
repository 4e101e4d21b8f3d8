package dev.graft.engine.backend.cuda;

import dev.graft.engine.NativeException;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.SizeTPointer;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.bytedeco.cuda.global.nvrtc.nvrtcCompileProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcCreateProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcDestroyProgram;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBIN;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetCUBINSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetNumSupportedArchs;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetPTX;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetPTXSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLog;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetProgramLogSize;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetSupportedArchs;

/**
 * Compiles CUDA C++ at run time with NVRTC (no nvcc in the build). It asks for a CUBIN for the device's own
 * architecture ({@code --gpu-architecture=sm_XY}), which the driver loads without JIT, so an NVRTC newer than
 * the driver does not matter (loading PTX from a newer NVRTC fails with CUDA_ERROR_UNSUPPORTED_PTX_VERSION;
 * candle #1846, libCEED #1587). Only when NVRTC cannot target the device's architecture (a GPU newer than
 * NVRTC) or yields an empty CUBIN does it fall back to PTX for the newest virtual architecture it knows.
 *
 * <p>Results are cached for the life of the process by the SHA-256 of source, target and options, so every
 * backend on the same kind of GPU compiles each file once. No {@code --use_fast_math}: kernels keep IEEE
 * division and square root, as parity with the reference backend needs.
 */
final class NvrtcCompiler {
    private static final String[] OPTIONS = {"--std=c++17"};
    private static final Map<String, Image> CACHE = new ConcurrentHashMap<>();

    /** A loadable image: CUBIN bytes, or NUL-terminated PTX text. */
    record Image(String name, byte[] bytes, boolean cubin, String target, String hash) {
    }

    private NvrtcCompiler() {
    }

    /** Compiles {@code source} for a device of compute capability {@code cc} (e.g. 90), or returns the cached image. */
    static Image compile(String name, String source, int cc) {
        int[] archs = supportedArchs();
        boolean real = Arrays.stream(archs).anyMatch(a -> a == cc);
        int virtual = Arrays.stream(archs).filter(a -> a <= cc).max()
                .orElseThrow(() -> new NativeException("NVRTC supports none of the architectures up to sm_" + cc
                        + " (it supports " + Arrays.toString(archs) + ")"));
        String target = real ? "sm_" + cc : "compute_" + virtual;
        Image image = cached(name, source, target);
        if (image.bytes().length == 0 && real) {
            image = cached(name, source, "compute_" + virtual);
        }
        if (image.bytes().length == 0) {
            throw new NativeException("NVRTC produced an empty image for " + name + " (" + image.target() + ")");
        }
        return image;
    }

    /** Number of distinct images compiled so far in this process (the cache's size). */
    static int cachedImages() {
        return CACHE.size();
    }

    private static Image cached(String name, String source, String target) {
        String hash = sha256(source + "\n--gpu-architecture=" + target + "\n" + String.join(" ", OPTIONS));
        return CACHE.computeIfAbsent(hash, h -> build(name, source, target, h));
    }

    private static Image build(String name, String source, String target, String hash) {
        try (PointerScope scope = new PointerScope()) {
            _nvrtcProgram program = new _nvrtcProgram();
            CudaCheck.nvrtc(nvrtcCreateProgram(program, new BytePointer(source), new BytePointer(name), 0,
                    (PointerPointer<?>) null, (PointerPointer<?>) null), "nvrtcCreateProgram(" + name + ")", null);
            try {
                String[] options = new String[OPTIONS.length + 1];
                options[0] = "--gpu-architecture=" + target;
                System.arraycopy(OPTIONS, 0, options, 1, OPTIONS.length);
                int status = nvrtcCompileProgram(program, options.length, new PointerPointer<BytePointer>(options));
                // Read the log before checking: it is the only account of why a compile failed.
                CudaCheck.nvrtc(status, "nvrtcCompileProgram(" + name + ", " + options[0] + ")", log(program));
                boolean cubin = target.startsWith("sm_");
                SizeTPointer size = new SizeTPointer(1);
                CudaCheck.nvrtc(cubin ? nvrtcGetCUBINSize(program, size) : nvrtcGetPTXSize(program, size),
                        cubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize", null);
                byte[] bytes = new byte[(int) size.get()];
                if (bytes.length > 0) {
                    CudaCheck.nvrtc(cubin ? nvrtcGetCUBIN(program, bytes) : nvrtcGetPTX(program, bytes),
                            cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX", null);
                }
                return new Image(name, bytes, cubin, target, hash);
            } finally {
                CudaCheck.nvrtc(nvrtcDestroyProgram(program), "nvrtcDestroyProgram(" + name + ")", null);
            }
        }
    }

    private static String log(_nvrtcProgram program) {
        SizeTPointer size = new SizeTPointer(1);
        if (nvrtcGetProgramLogSize(program, size) != 0 || size.get() <= 1) {
            return "";
        }
        byte[] text = new byte[(int) size.get()];
        if (nvrtcGetProgramLog(program, text) != 0) {
            return "(nvrtcGetProgramLog failed)";
        }
        return new String(text, 0, text.length - 1, StandardCharsets.UTF_8);
    }

    /** Architectures this NVRTC can emit code for, as compute capabilities (75, 80, 86, 89, 90, ...). */
    static int[] supportedArchs() {
        int[] n = new int[1];
        CudaCheck.nvrtc(nvrtcGetNumSupportedArchs(n), "nvrtcGetNumSupportedArchs", null);
        int[] archs = new int[n[0]];
        CudaCheck.nvrtc(nvrtcGetSupportedArchs(archs), "nvrtcGetSupportedArchs", null);
        return archs;
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
