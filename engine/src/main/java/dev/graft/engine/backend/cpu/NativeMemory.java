package dev.graft.engine.backend.cpu;

import dev.graft.engine.GraftException;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * One block of off-heap memory, 64-byte aligned (oneDNN's preferred alignment: one cache line, one AVX-512
 * vector), released by {@link #close()} and never by the garbage collector. It comes from plain {@code malloc},
 * so JavaCPP's {@code maxBytes}/{@code maxPhysicalBytes} accounting never sees it and cannot refuse large
 * activations.
 *
 * <p>Large blocks go through a caching allocator, as DESIGN.md asks of every device: glibc serves blocks above
 * 32 MiB with a fresh mmap and unmaps them on free, so every new activation of a batch-32 ResNet (a 103 MB
 * tensor at 56x56) used to pay about 25k page faults, roughly 25 ms, on every step. Blocks of at least
 * {@link #CACHE_MIN} bytes, rounded up to whole {@link #GRANULE}s, come from a {@link BlockPool}: closed blocks
 * stay in the process, merged with free neighbours, and later requests of any size are carved from them (best
 * fit) before anything new is malloc'd. Training steps allocate the same sizes every step, so after the first
 * step they hit. The first version kept one free list per exact size; blocks of one size then idled while
 * other sizes were malloc'd fresh (ResNet-18 inference at batch 32: tensors peaked at 453 MiB, tensors and free
 * lists at 915 MiB). At most {@link #cacheLimit()} free bytes are kept (whole free segments beyond it go back to
 * the system; all of them before a malloc fails for good). {@link #bytesInUse()} counts live blocks,
 * {@link #bytesCached()} the free ones.
 */
final class NativeMemory implements AutoCloseable {
    static final int ALIGN = 64;
    /** Java loops look at the memory through FloatBuffers, whose capacity is an int; views stay below this many floats. */
    static final int MAX_VIEW = 1 << 28;
    /** Smaller blocks are malloc'd and freed directly: glibc recycles them from its heap without page faults. */
    static final long CACHE_MIN = 1L << 20;
    /** Pooled block sizes are multiples of this. */
    static final long GRANULE = 64L << 10;

    private static final Object LOCK = new Object();
    private static final long CACHE_LIMIT = limitFromSystem();
    private static final BlockPool POOL = new BlockPool(CACHE_LIMIT);
    private static long inUse;
    private static long peakInUse;
    private static long peakTotal;

    /**
     * With {@code -Dgraft.cpu.guardBytes=N} (tests set it) every block is followed by N bytes of canary, checked when
     * the block is freed and, through {@link #checkGuards}, after every oneDNN primitive: a kernel that writes past the
     * end of a buffer is then reported at once, naming the primitive, instead of corrupting glibc's heap and aborting
     * the JVM much later. 0 (the default) turns it off.
     */
    static final int GUARD_BYTES = Math.max(0, Integer.getInteger("graft.cpu.guardBytes", 0)) / 4 * 4;
    private static final float CANARY = Float.intBitsToFloat(0x7fc0beef); // a NaN payload no kernel produces
    private static final java.util.Set<NativeMemory> GUARDED = GUARD_BYTES > 0
            ? java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()) : null;
    /**
     * With guards on and {@code -Dgraft.cpu.quarantineBytes=N}, freed blocks stay poisoned (up to N bytes of them, the
     * oldest released first) and are checked after every primitive too, so a write after free is caught (slow: a
     * debugging aid, off by default).
     */
    private static final java.util.ArrayDeque<NativeMemory> QUARANTINE = new java.util.ArrayDeque<>();
    private static final long QUARANTINE_BYTES = GUARD_BYTES > 0 ? Math.max(0, Long.getLong("graft.cpu.quarantineBytes", 0)) : 0;
    private static long quarantined;

    private final long bytes;
    private final long blockBytes;
    /** A directly malloc'd small block, or null. */
    private Pointer raw;
    /** A pooled large block, or null. */
    private BlockPool.Block block;
    private Aligned data;

    /** A block for a value that lives about as long as the step that allocates it (activations, gradients). */
    NativeMemory(long bytes) {
        this(bytes, false);
    }

    /**
     * {@code longLived}: the block will outlive many steps (parameters, optimizer state, cached weight copies). It
     * is malloc'd directly: carved from the pool, it would pin the middle of a segment that a step's large
     * activations need whole again on the next step (measured: the stem's 98 MiB outputs were malloc'd anew every
     * step because weight copies made during the first forward pass sat inside their freed segments).
     */
    NativeMemory(long bytes, boolean longLived) {
        // Whole floats, so the FloatPointer's limit covers every byte (bf16 copies may hold an odd number of halves).
        bytes = (bytes + Float.BYTES - 1) / Float.BYTES * Float.BYTES;
        this.bytes = bytes;
        long size = blockSize(bytes + GUARD_BYTES);
        Pointer base;
        long offset;
        if (size < CACHE_MIN || longLived) {
            raw = malloc(size);
            base = raw;
            offset = 0;
        } else {
            block = takeBlock(size);
            base = block.base();
            offset = block.offset();
        }
        blockBytes = block != null ? block.bytes() : size;
        long start = base.address() + offset;
        data = new Aligned(base, offset + ((-start) & (ALIGN - 1)), bytes / Float.BYTES);
        if (GUARD_BYTES > 0) {
            FloatBuffer g = guard();
            for (int i = 0; i < g.capacity(); i++) {
                g.put(i, CANARY);
            }
            synchronized (LOCK) {
                GUARDED.add(this);
            }
        }
    }

    /** The canary bytes right after the block's {@code bytes}. */
    private FloatBuffer guard() {
        Aligned view = new Aligned(data, bytes, GUARD_BYTES / Float.BYTES);
        return view.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private void checkGuard(String after) {
        FloatBuffer g = guard();
        for (int i = 0; i < g.capacity(); i++) {
            if (Float.floatToRawIntBits(g.get(i)) != Float.floatToRawIntBits(CANARY)) {
                int last = i;
                for (int j = i; j < g.capacity(); j++) {
                    if (Float.floatToRawIntBits(g.get(j)) != Float.floatToRawIntBits(CANARY)) {
                        last = j;
                    }
                }
                throw new IllegalStateException("native buffer overrun " + after + ": bytes " + (bytes + 4L * i) + ".."
                        + (bytes + 4L * last + 3) + " past the end of a " + bytes + "-byte buffer were written");
            }
        }
    }

    /** With guards on, checks every live block's canary and every quarantined block's poison. */
    static void checkGuards(String after) {
        if (GUARD_BYTES == 0) {
            return;
        }
        synchronized (LOCK) {
            for (NativeMemory m : GUARDED) {
                m.checkGuard(after);
            }
            for (NativeMemory m : QUARANTINE) {
                m.checkPoison(after);
            }
        }
    }

    private FloatBuffer whole() {
        Aligned view = new Aligned(data, 0, (bytes + GUARD_BYTES) / Float.BYTES);
        return view.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private void checkPoison(String after) {
        FloatBuffer f = whole();
        for (int i = 0; i < f.capacity(); i++) {
            if (Float.floatToRawIntBits(f.get(i)) != Float.floatToRawIntBits(CANARY)) {
                throw new IllegalStateException("write after free " + after + ": byte " + 4L * i + " of a freed "
                        + bytes + "-byte buffer was written");
            }
        }
    }

    /** Bytes held by live blocks (tensors, cached weight copies, scratch), process-wide. */
    static long bytesInUse() {
        synchronized (LOCK) {
            return inUse;
        }
    }

    /** Most bytes live blocks held at once since the last {@link #resetPeaks()}. */
    static long peakBytesInUse() {
        synchronized (LOCK) {
            return peakInUse;
        }
    }

    /** Most bytes live and cached blocks held together at once since the last {@link #resetPeaks()}. */
    static long peakBytesHeld() {
        synchronized (LOCK) {
            return peakTotal;
        }
    }

    static void resetPeaks() {
        synchronized (LOCK) {
            peakInUse = inUse;
            peakTotal = inUse + POOL.freeBytes();
        }
    }

    /** Bytes of free pooled blocks kept for reuse. */
    static long bytesCached() {
        synchronized (LOCK) {
            return POOL.freeBytes();
        }
    }

    /** Returns every entirely free pooled segment to the system. */
    static void releaseCached() {
        synchronized (LOCK) {
            POOL.releaseFreeSegments();
        }
    }

    /**
     * Most free bytes the pool may hold: {@code -Dgraft.cpu.cacheBytes=N} if set (0 returns every free segment at
     * once), else a quarter of physical memory.
     */
    static long cacheLimit() {
        return CACHE_LIMIT;
    }

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

    /** The bytes a request of {@code bytes} occupies: room to align, and whole granules when pooled. */
    static long blockSize(long bytes) {
        long b = Math.max(bytes, 1) + ALIGN;
        return b < CACHE_MIN ? b : (b + GRANULE - 1) / GRANULE * GRANULE;
    }

    private static BlockPool.Block takeBlock(long size) {
        synchronized (LOCK) {
            BlockPool.Block b = POOL.allocate(size);
            if (b == null) {
                // Free segments cut for other sizes may be what the system is missing.
                POOL.releaseFreeSegments();
                b = POOL.allocate(size);
            }
            if (b == null) {
                throw outOfMemory(size);
            }
            counted(b.bytes());
            return b;
        }
    }

    private static Pointer malloc(long size) {
        Pointer p = Pointer.malloc(size);
        if (p == null || p.isNull()) {
            releaseCached();
            p = Pointer.malloc(size);
        }
        if (p == null || p.isNull()) {
            throw outOfMemory(size);
        }
        synchronized (LOCK) {
            counted(size);
        }
        return p;
    }

    /** Holds LOCK. */
    private static void counted(long bytes) {
        inUse += bytes;
        peakInUse = Math.max(peakInUse, inUse);
        peakTotal = Math.max(peakTotal, inUse + POOL.freeBytes());
    }

    private static GraftException outOfMemory(long size) {
        return new GraftException("out of native memory: malloc of " + size + " bytes failed on the cpu device; "
                + "use a smaller batch or free tensors by closing their Scope earlier");
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
        if (data == null) {
            return;
        }
        if (GUARD_BYTES > 0) {
            synchronized (LOCK) {
                GUARDED.remove(this);
            }
            checkGuard("found when freeing it");
        }
        if (QUARANTINE_BYTES > 0) {
            FloatBuffer f = whole();
            for (int i = 0; i < f.capacity(); i++) {
                f.put(i, CANARY);
            }
            synchronized (LOCK) {
                QUARANTINE.add(this);
                quarantined += bytes;
                while (quarantined > QUARANTINE_BYTES) {
                    NativeMemory old = QUARANTINE.poll();
                    quarantined -= old.bytes;
                    old.checkPoison("found when leaving quarantine");
                    old.release();
                }
            }
            return;
        }
        release();
    }

    private void release() {
        data = null;
        synchronized (LOCK) {
            inUse -= blockBytes;
            if (block != null) {
                POOL.release(block);
                block = null;
                return;
            }
        }
        Pointer.free(raw);
        raw = null;
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
