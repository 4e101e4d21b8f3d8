package dev.graft.engine.backend.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.javacpp.BytePointer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cuModuleUnload;

/**
 * One compiled image loaded into the device's primary context ({@code cuModuleLoadData}), with its kernels
 * looked up once by name. The caller must have made the device current ({@code cudaSetDevice}) on this thread.
 */
final class KernelModule implements AutoCloseable {
    private final String name;
    private final CUmod_st module = new CUmod_st();
    private final Map<String, CUfunc_st> functions = new ConcurrentHashMap<>();
    private boolean closed;

    KernelModule(NvrtcCompiler.Image image) {
        this.name = image.name();
        try (BytePointer data = new BytePointer(image.bytes())) {
            // The driver copies the image; the host copy can go right after.
            CudaCheck.driver(cuModuleLoadData(module, data), "cuModuleLoadData(" + name + ", " + image.target() + ")");
        }
    }

    CUfunc_st function(String kernel) {
        return functions.computeIfAbsent(kernel, k -> {
            CUfunc_st f = new CUfunc_st();
            CudaCheck.driver(cuModuleGetFunction(f, module, k), "cuModuleGetFunction(" + name + ", " + k + ")");
            return f;
        });
    }

    @Override
    public synchronized void close() {
        if (!closed && !module.isNull()) {
            closed = true;
            CudaCheck.driver(cuModuleUnload(module), "cuModuleUnload(" + name + ")");
        }
    }
}
