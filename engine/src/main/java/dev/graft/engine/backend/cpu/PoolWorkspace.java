package dev.graft.engine.backend.cpu;

/**
 * What a max-pool forward leaves for its backward, owned by the current scope like any buffer: oneDNN's
 * opaque workspace (which window element won, as bytes), or, after the exact Java path ran because the input
 * held NaN or infinities, the flat NHWC input index of each output's maximum.
 */
final class PoolWorkspace extends NativeBuffer {
    enum Kind { ONEDNN, ARGMAX }

    final Kind kind;

    /** {@code bytes} of storage (rounded up to whole floats). */
    PoolWorkspace(Kind kind, long bytes) {
        super(Math.toIntExact(Math.max(1, (bytes + Float.BYTES - 1) / Float.BYTES)));
        this.kind = kind;
    }
}
