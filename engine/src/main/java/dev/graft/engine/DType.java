package dev.graft.engine;

/**
 * Element types. F32 is what every backend computes in; F64 exists on the reference backend for tight
 * gradient checks; I64 holds integer buffers such as BatchNorm's {@code num_batches_tracked} and is
 * stored on the host whatever the device (no kernel computes on it).
 */
public enum DType {
    F32(4, "float32"),
    F64(8, "float64"),
    I64(8, "int64");

    private final int bytes;
    private final String torchName;

    DType(int bytes, String torchName) {
        this.bytes = bytes;
        this.torchName = torchName;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    /** The name PyTorch gives this type ({@code float32}, ...). */
    public String torchName() {
        return torchName;
    }

    public boolean isFloating() {
        return this != I64;
    }
}
