package dev.graft.engine.backend.cpu;

import dev.graft.engine.GraftException;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One block of off-heap memory, 64-byte aligned (oneDNN's preferred alignment: one cache line, one AVX-512
 * vector), freed by {@link #close()} and never by the garbage collector. It comes from plain {@code malloc},
 * so JavaCPP's {@code maxBytes}/{@code maxPhysicalBytes} accounting never sees it and cannot refuse large
 * activations. Every allocation is counted in {@link #bytesInUse()} (a leak detector for tests).
 */
final class NativeMemory implements AutoCloseable {
    static final int ALIGN = 64;
    /** Java loops look at the memory through FloatBuffers, whose capacity is an int; views stay below this many floats. */
    static final int MAX_VIEW = 1 << 28;
    private static final AtomicLong IN_USE = new AtomicLong();

    private final long bytes;
    private Pointer raw;
    private Aligned data;

    NativeMemory(long bytes) {
        this.bytes = bytes;
        Pointer p = Pointer.malloc(Math.max(bytes, 1) + ALIGN);
        if (p == null || p.isNull()) {
            throw new GraftException("out of native memory: malloc of " + bytes + " bytes failed on the cpu device; "
                    + "use a smaller batch or free tensors by closing their Scope earlier");
        }
        raw = p;
        long offset = (-p.address()) & (ALIGN - 1);
        data = new Aligned(p, offset, bytes / Float.BYTES);
        IN_USE.addAndGet(bytes);
    }

    /** Bytes currently allocated through this class (buffers, cached reordered weights, scratch), process-wide. */
    static long bytesInUse() {
        return IN_USE.get();
    }

    /** The aligned start, as oneDNN memory objects take it. */
    FloatPointer pointer() {
        if (data == null) {
            throw new IllegalStateException("native memory used after free");
        }
        return data;
    }

    /** A FloatBuffer over {@code count} floats starting at float index {@code start} (count <= MAX_VIEW). */
    FloatBuffer floats(long start, int count) {
        return bytes(start, count).asFloatBuffer();
    }

    /** The same range as 32-bit ints (argmax indices). */
    IntBuffer ints(long start, int count) {
        return bytes(start, count).asIntBuffer();
    }

    private ByteBuffer bytes(long start, int count) {
        Aligned view = new Aligned(pointer(), start * Float.BYTES, count);
        return view.asByteBuffer().order(ByteOrder.nativeOrder());
    }

    @Override
    public void close() {
        if (raw != null) {
            Pointer.free(raw);
            raw = null;
            data = null;
            IN_USE.addAndGet(-bytes);
        }
    }

    /** A view at {@code base + offsetBytes} with position 0, so JavaCPP passes exactly the aligned address. */
    private static final class Aligned extends FloatPointer {
        Aligned(Pointer base, long offsetBytes, long floats) {
            super(base);
            address += offsetBytes;
            position = 0;
            limit = floats;
            capacity = floats;
        }
    }
}
