package dev.graft.engine;

/** A native library (oneDNN, CUDA, cuDNN, cuBLAS, NVRTC) reported a failure; the message names the call. */
public class NativeException extends GraftException {
    public NativeException(String message) {
        super(message);
    }

    public NativeException(String message, Throwable cause) {
        super(message, cause);
    }
}
