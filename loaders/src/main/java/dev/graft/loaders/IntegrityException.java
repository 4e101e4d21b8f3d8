package dev.graft.loaders;

/**
 * A tensor's bytes do not match the SHA-256 digest recorded for them when the file was written
 * ({@code graft.sha256} in a safetensors header): the file was damaged after Graft wrote it (a flipped bit, a
 * bad copy, a disk error). The message names the file, the tensor and its byte range.
 */
public final class IntegrityException extends FormatException {
    private final String tensor;

    public IntegrityException(String file, long offset, String tensor, String reason) {
        super(file, offset, reason);
        this.tensor = tensor;
    }

    /** The tensor whose bytes do not match. */
    public String tensor() {
        return tensor;
    }
}
