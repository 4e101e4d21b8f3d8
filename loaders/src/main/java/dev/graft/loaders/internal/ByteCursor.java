package dev.graft.loaders.internal;

import dev.graft.loaders.FormatException;

/**
 * Sequential little-endian reading of a region {@code [start, end)} of a {@link Source}, buffered in
 * chunks so that a legacy stream (pickles followed by gigabytes of storages) is never read whole.
 */
public final class ByteCursor {
    private static final int CHUNK = 1 << 16;

    private final Source source;
    private final long end;
    private long pos;
    private byte[] chunk = new byte[0];
    private long chunkStart;

    public ByteCursor(Source source, long start, long end) {
        source.require(start, end - start, "region");
        this.source = source;
        this.pos = start;
        this.end = end;
    }

    public Source source() {
        return source;
    }

    /** Absolute file offset of the next byte. */
    public long position() {
        return pos;
    }

    public long remaining() {
        return end - pos;
    }

    public FormatException error(long offset, String reason) {
        return source.error(offset, reason);
    }

    private void need(long n, String what) {
        if (n < 0 || n > end - pos) {
            throw source.error(pos, what + " needs " + n + " bytes but only " + (end - pos) + " remain");
        }
    }

    public int u8(String what) {
        need(1, what);
        if (pos < chunkStart || pos >= chunkStart + chunk.length) {
            chunkStart = pos;
            chunk = source.read(pos, Math.min(CHUNK, end - pos), what);
        }
        return chunk[(int) (pos++ - chunkStart)] & 0xFF;
    }

    public byte[] bytes(long n, String what) {
        need(n, what);
        if (pos >= chunkStart && pos + n <= chunkStart + chunk.length) {
            byte[] out = new byte[(int) n];
            System.arraycopy(chunk, (int) (pos - chunkStart), out, 0, (int) n);
            pos += n;
            return out;
        }
        byte[] out = source.read(pos, n, what);
        pos += n;
        return out;
    }

    public void skip(long n, String what) {
        need(n, what);
        pos += n;
    }

    /** Unsigned little-endian integer of {@code n <= 8} bytes (u64 values above 2^63 come back negative). */
    public long le(int n, String what) {
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) u8(what) << (8 * i);
        }
        return v;
    }
}
