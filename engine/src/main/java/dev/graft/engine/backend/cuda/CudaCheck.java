package dev.graft.engine.backend.cuda;

import dev.graft.engine.NativeException;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;

import static org.bytedeco.cuda.global.cublas.cublasGetStatusName;
import static org.bytedeco.cuda.global.cublas.cublasGetStatusString;
import static org.bytedeco.cuda.global.cudart.cuGetErrorName;
import static org.bytedeco.cuda.global.cudart.cuGetErrorString;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorName;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;
import static org.bytedeco.cuda.global.cudnn.cudnnGetErrorString;
import static org.bytedeco.cuda.global.nvrtc.nvrtcGetErrorString;

/**
 * Status checks, one per library, called where each status is returned (llm.c's {@code cudaCheck}). Each
 * throws a {@link NativeException} naming the call, the code and the library's own message. The presets are
 * {@code @NoException}: nothing throws unless we check.
 */
final class CudaCheck {
    private CudaCheck() {
    }

    /** CUDA runtime ({@code cuda*}); 0 is {@code cudaSuccess}. */
    static void cuda(int status, String call) {
        if (status != 0) {
            throw new NativeException(call + " failed: " + string(cudaGetErrorName(status)) + " (" + status + "): "
                    + string(cudaGetErrorString(status)));
        }
    }

    /** cuDNN; 0 is {@code CUDNN_STATUS_SUCCESS}. */
    static void cudnn(int status, String call) {
        if (status != 0) {
            throw new NativeException(call + " failed: cuDNN status " + status + ": " + string(cudnnGetErrorString(status)));
        }
    }

    /** cuBLAS; 0 is {@code CUBLAS_STATUS_SUCCESS}. */
    static void cublas(int status, String call) {
        if (status != 0) {
            throw new NativeException(call + " failed: " + string(cublasGetStatusName(status)) + " (" + status + "): "
                    + string(cublasGetStatusString(status)));
        }
    }

    /** NVRTC; 0 is {@code NVRTC_SUCCESS}. {@code log} is the program log (may be empty), which says why a compile failed. */
    static void nvrtc(int status, String call, String log) {
        if (status != 0) {
            throw new NativeException(call + " failed: " + string(nvrtcGetErrorString(status)) + " (" + status + ")"
                    + (log == null || log.isBlank() ? "" : "; program log:\n" + log.strip()));
        }
    }

    /** CUDA driver API ({@code cu*}); 0 is {@code CUDA_SUCCESS}. Only called after the runtime set up the context. */
    static void driver(int status, String call) {
        if (status != 0) {
            String name;
            String text;
            try (PointerPointer<BytePointer> out = new PointerPointer<>(1)) {
                name = cuGetErrorName(status, out) == 0 ? string(out.get(BytePointer.class, 0)) : "CUresult";
                text = cuGetErrorString(status, out) == 0 ? string(out.get(BytePointer.class, 0)) : "unknown error";
            }
            throw new NativeException(call + " failed: " + name + " (" + status + "): " + text);
        }
    }

    private static String string(BytePointer p) {
        return p == null || p.isNull() ? "(no message)" : p.getString();
    }
}
