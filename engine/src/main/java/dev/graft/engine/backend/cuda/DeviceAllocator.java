package dev.graft.engine.backend.cuda;

import dev.graft.engine.NativeException;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A caching allocator for one device (tinygrad's LRU allocator, PyTorch's size rounding). Requests are rounded
 * up to a bucket: multiples of 512 B up to 1 MiB, multiples of 2 MiB above. A returned block goes to its
 * bucket's free list and serves the next request of the same rounded size, which is every request of a training
 * loop whose shapes repeat. When the device is out of memory the cache is emptied and the request retried once.
 *
 * <p>Blocks are reused in stream order: every kernel runs on the backend's one stream, so work enqueued after
 * a block came back runs after the work that used it before; no event or synchronisation is needed. Freeing to
 * the device ({@code cudaFree}) happens only when the cache is emptied or the allocator closes.
 *
 * <p>Thread-safe (buffers may be closed from any thread).
 */
final class DeviceAllocator implements AutoCloseable {
    static final long SMALL_LIMIT = 1L << 20;
    static final long SMALL_ROUND = 512;
    static final long LARGE_ROUND = 2L << 20;

    /** A device address and its rounded size in bytes. */
    record Block(long address, long bytes) {
        static final Block EMPTY = new Block(0, 0);
    }

    private final RawDeviceMemory raw;
    private final Map<Long, ArrayDeque<Block>> free = new HashMap<>();
    private final Map<Long, Block> live = new HashMap<>();
    private long inUse;
    private long cached;
    private long peak;
    private long mallocs;
    private long hits;
    private long oomRetries;
    private boolean closed;

    DeviceAllocator(RawDeviceMemory raw) {
        this.raw = raw;
    }

    /** The bucket a request of {@code bytes} falls in. */
    static long roundUp(long bytes) {
        long unit = bytes <= SMALL_LIMIT ? SMALL_ROUND : LARGE_ROUND;
        return (bytes + unit - 1) / unit * unit;
    }

    /** A block of at least {@code bytes}; {@link Block#EMPTY} for 0. */
    synchronized Block allocate(long bytes) {
        if (closed) {
            throw new IllegalStateException("the cuda backend was closed; its device memory is gone");
        }
        if (bytes <= 0) {
            return Block.EMPTY;
        }
        long size = roundUp(bytes);
        ArrayDeque<Block> bucket = free.get(size);
        Block b;
        if (bucket != null && !bucket.isEmpty()) {
            b = bucket.pop();
            cached -= size;
            hits++;
        } else {
            long address = raw.malloc(size);
            if (address == 0) {
                oomRetries++;
                emptyCache();
                address = raw.malloc(size);
            }
            if (address == 0) {
                long[] info = raw.info();
                throw new NativeException("cudaMalloc failed: out of device memory allocating " + AllocatorStats.mib(size)
                        + " (after emptying the cache; " + stats() + (info[0] >= 0 ? "; device free " + AllocatorStats.mib(info[0])
                        + " of " + AllocatorStats.mib(info[1]) : "") + "). Use a smaller batch size.");
            }
            mallocs++;
            b = new Block(address, size);
        }
        live.put(b.address(), b);
        inUse += size;
        peak = Math.max(peak, inUse);
        return b;
    }

    /** Returns a block to its bucket. Blocks of a closed allocator are already freed; returning them does nothing. */
    synchronized void release(Block b) {
        if (closed || b.bytes() == 0) {
            return;
        }
        if (live.remove(b.address()) == null) {
            throw new IllegalStateException("device block at 0x" + Long.toHexString(b.address()) + " was released twice");
        }
        inUse -= b.bytes();
        cached += b.bytes();
        free.computeIfAbsent(b.bytes(), k -> new ArrayDeque<>()).push(b);
    }

    /** Gives every cached block back to the device ({@code torch.cuda.empty_cache()}). */
    synchronized void emptyCache() {
        for (ArrayDeque<Block> bucket : free.values()) {
            for (Block b : bucket) {
                raw.free(b.address());
            }
        }
        free.clear();
        cached = 0;
    }

    synchronized AllocatorStats stats() {
        return new AllocatorStats(inUse, cached, peak, live.size(), mallocs, hits, oomRetries);
    }

    synchronized void resetPeak() {
        peak = inUse;
    }

    /** Frees the cache and every block still handed out (their buffers must not be used any more). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        emptyCache();
        List<Block> leftovers = new ArrayList<>(live.values());
        live.clear();
        inUse = 0;
        closed = true;
        for (Block b : leftovers) {
            raw.free(b.address());
        }
    }
}
