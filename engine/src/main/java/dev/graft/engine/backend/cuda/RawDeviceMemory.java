package dev.graft.engine.backend.cuda;

/**
 * Where a {@link DeviceAllocator} gets memory: {@code cudaMalloc}/{@code cudaFree} in production, a fake in the
 * allocator's unit test (which runs without a GPU).
 */
interface RawDeviceMemory {

    /** A new block of {@code bytes}, or 0 when the device is out of memory; other failures throw. */
    long malloc(long bytes);

    void free(long address);

    /** {free, total} bytes of the device, for out-of-memory messages; may be {-1, -1}. */
    long[] info();
}
