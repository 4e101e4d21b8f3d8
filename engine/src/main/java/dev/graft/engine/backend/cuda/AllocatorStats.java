package dev.graft.engine.backend.cuda;

/**
 * A snapshot of a {@link DeviceAllocator}, in bytes of rounded block sizes. {@code inUse}: handed out and not
 * yet returned; {@code cached}: returned and kept for reuse; {@code peakInUse}: the largest {@code inUse} since
 * the allocator was made or {@link DeviceAllocator#resetPeak()}. Counts: device allocations made, requests
 * served from the cache, times an out-of-memory emptied the cache and retried.
 */
public record AllocatorStats(long inUse, long cached, long peakInUse, long liveBlocks, long deviceMallocs,
                             long cacheHits, long oomRetries) {

    /** Memory taken from the device: in use plus cached. */
    public long reserved() {
        return inUse + cached;
    }

    @Override
    public String toString() {
        return String.format("in use %s, cached %s, peak %s (%d live blocks, %d cudaMalloc, %d cache hits, %d OOM retries)",
                mib(inUse), mib(cached), mib(peakInUse), liveBlocks, deviceMallocs, cacheHits, oomRetries);
    }

    static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }
}
