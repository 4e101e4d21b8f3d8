package dev.graft.loaders.internal;

import dev.graft.engine.HostTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.security.MessageDigest;

/** Writes a tensor's values as raw little-endian elements of its dtype, in bounded chunks. */
public final class RawWriter {
    private static final int CHUNK_ELEMENTS = 1 << 16;

    private RawWriter() {
    }

    public static void write(WritableByteChannel out, HostTensor t) throws IOException {
        write(out, t, null);
    }

    /** As {@link #write(WritableByteChannel, HostTensor)}, also feeding every byte written to {@code digest} (if not null). */
    public static void write(WritableByteChannel out, HostTensor t, MessageDigest digest) throws IOException {
        int n = t.shape().numel();
        ByteBuffer buf = ByteBuffer.allocate(CHUNK_ELEMENTS * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int start = 0; start < n; start += CHUNK_ELEMENTS) {
            int len = Math.min(CHUNK_ELEMENTS, n - start);
            buf.clear();
            switch (t.dtype()) {
                case F32 -> buf.asFloatBuffer().put(t.floats(), start, len);
                case F64 -> buf.asDoubleBuffer().put(t.doubles(), start, len);
                case I64 -> buf.asLongBuffer().put(t.longs(), start, len);
            }
            buf.limit(len * t.dtype().bytes());
            if (digest != null) {
                digest.update(buf.array(), 0, buf.limit());
            }
            while (buf.hasRemaining()) {
                out.write(buf);
            }
        }
    }

    public static void writeAll(WritableByteChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }
}
