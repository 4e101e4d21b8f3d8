package dev.graft.engine.backend;

import dev.graft.engine.DType;

/** I64 storage: always on the host, whatever the device (counters, labels). */
public final class HostLongBuffer extends Buffer {
    private long[] data;

    public HostLongBuffer(long[] data) {
        super(DType.I64, data.length);
        this.data = data;
    }

    public long[] data() {
        checkOpen();
        return data;
    }

    @Override
    protected void free() {
        data = null;
    }
}
