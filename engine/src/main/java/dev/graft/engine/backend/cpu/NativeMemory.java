package dev.graft.engine.backend.cpu;

import dev.graft.engine.GraftException;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One block of off-heap memory, 64-byte aligned (oneDNN's preferred alignment: one cache line, one AVX-512
 * vector), released by {@link #close()} and never by the garbage collector. It comes from plain {@code malloc},
 * so JavaCPP's {@code maxBytes}/{@code maxPhysicalBytes} accounting never sees it and cannot refuse large
 * activations.
 *
 * <p>Large blocks go through a caching allocator, as DESIGN.md asks of every device: glibc serves blocks above
 * 32 MiB with a fresh mmap and unmaps them on free, so every new activation of a batch-32 ResNet (a 103 MB
 * tensor at 56x56) used to pay about 25k page faults, roughly 25 ms, on every step. Closed blocks of at least
 * {@link #CACHE_MIN} bytes, rounded up to whole {@link #GRANULE}s, wait on a free list for the next request of
 * the same rounded size, up to {@link #cacheLimit()} bytes in total (oldest dropped first; all dropped before a
 * malloc fails for good). Training steps allocate the same sizes every step, so after the first step they hit.
 * {@link #bytesInUse()} counts live blocks, {@link #bytesCached()} the free lists.
 */
final class NativeMemory implements AutoCloseable {
    static final int ALIGN = 64;
    /** Java loops look at the memory through FloatBuffers, whose capacity is an int; views stay below this many floats. */
    static final int MAX_VIEW = 1 << 28;
    /** Smaller blocks are malloc'd and freed directly: glibc recycles them from its heap without page faults. */
    static final long CACHE_MIN = 1L << 20;
    /** Cached sizes are multiples of 2 MiB (at most 2 MiB of slack per block), so near sizes share a list. */
    static final long GRANULE = 2L << 20;

    private static final Object LOCK = new Object();
    /** Free blocks by rounded size; the LinkedHashMap's order is the order they were freed (oldest first). */
    private static final Map<Long, ArrayDeque<Pointer>> FREE = new HashMap<>();
    private static final LinkedHashMap<Pointer, Long> FREE_ORDER = new LinkedHashMap<>();
    private static long inUse;
    private static long cached;

    private final long blockBytes;
    private Pointer raw;
    private Aligned data;

    NativeMemory(long bytes) {
        this.blockBytes = blockSize(bytes);
        Pointer p = take(blockBytes);
        raw = p;
        long offset = (-p.address()) & (ALIGN - 1);
        data = new Aligned(p, offset, bytes / Float.BYTES);
    }

    /** Bytes held by live blocks (tensors, cached weight copies, scratch), process-wide. */
    static long bytesInUse() {
        synchronized (LOCK) {
            return inUse;
        }
    }

    /** Bytes of closed large blocks kept for reuse. */
    static long bytesCached() {
        synchronized (LOCK) {
            return cached;
        }
    }

    /** Frees every cached block (returns the memory to the system). */
    static void releaseCached() {
        synchronized (LOCK) {
            FREE_ORDER.keySet().forEach(Pointer::free);
            FREE_ORDER.clear();
            FREE.clear();
            cached = 0;
        }
    }

    /**
     * Most bytes the free lists may hold: {@code -Dgraft.cpu.cacheBytes=N} if set (0 turns caching off), else a
     * quarter of physical memory.
     */
    static long cacheLimit() {
        return CACHE_LIMIT;
    }

    private static final long CACHE_LIMIT = limitFromSystem();

    private static long limitFromSystem() {
        String p = System.getProperty("graft.cpu.cacheBytes");
        if (p != null) {
            return Long.parseLong(p.trim());
        }
        try {
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            return os.getTotalMemorySize() / 4;
        } catch (RuntimeException | LinkageError e) {
            return 1L << 30;
        }
    }

    private static long blockSize(long bytes) {
        long b = Math.max(bytes, 1) + ALIGN;
        return b < CACHE_MIN ? b : (b + GRANULE - 1) / GRANULE * GRANULE;
    }

    private static Pointer take(long blockBytes) {
        synchronized (LOCK) {
            ArrayDeque<Pointer> list = FREE.get(blockBytes);
            if (list != null && !list.isEmpty()) {
                Pointer p = list.pop();
                FREE_ORDER.remove(p);
                cached -= blockBytes;
                inUse += blockBytes;
                return p;
            }
        }
        Pointer p = Pointer.malloc(blockBytes);
        if (p == null || p.isNull()) {
            // Cached blocks of other sizes may be what the system is missing.
            releaseCached();
            p = Pointer.malloc(blockBytes);
        }
        if (p == null || p.isNull()) {
            throw new GraftException("out of native memory: malloc of " + blockBytes + " bytes failed on the cpu device; "
                    + "use a smaller batch or free tensors by closing their Scope earlier");
        }
        synchronized (LOCK) {
            inUse += blockBytes;
        }
        return p;
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
        Pointer p = raw;
        if (p == null) {
            return;
        }
        raw = null;
        data = null;
        synchronized (LOCK) {
            inUse -= blockBytes;
            if (blockBytes >= CACHE_MIN && blockBytes <= CACHE_LIMIT) {
                FREE.computeIfAbsent(blockBytes, k -> new ArrayDeque<>()).push(p);
                FREE_ORDER.put(p, blockBytes);
                cached += blockBytes;
                trim();
                return;
            }
        }
        Pointer.free(p);
    }

    /** Drops the oldest cached blocks until the cache fits its limit. Holds LOCK. */
    private static void trim() {
        for (Iterator<Map.Entry<Pointer, Long>> it = FREE_ORDER.entrySet().iterator(); cached > CACHE_LIMIT && it.hasNext(); ) {
            Map.Entry<Pointer, Long> e = it.next();
            FREE.get(e.getValue()).remove(e.getKey());
            cached -= e.getValue();
            it.remove();
            Pointer.free(e.getKey());
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
