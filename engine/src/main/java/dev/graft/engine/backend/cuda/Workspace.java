package dev.graft.engine.backend.cuda;

/**
 * The one cuDNN workspace of a backend: it only grows (the old block goes back to the allocator, which is safe
 * in stream order), so after the first pass over a network's shapes it never changes (DL4J and llm.c do the
 * same). Callers hold this object's lock from {@link #ensure} until their cuDNN call is enqueued.
 */
final class Workspace {
    private final DeviceAllocator allocator;
    private DeviceAllocator.Block block = DeviceAllocator.Block.EMPTY;

    Workspace(DeviceAllocator allocator) {
        this.allocator = allocator;
    }

    /** The address of at least {@code bytes} of scratch memory (0 for 0 bytes). Call with this object's lock held. */
    long ensure(long bytes) {
        if (bytes > block.bytes()) {
            allocator.release(block);
            block = DeviceAllocator.Block.EMPTY;
            block = allocator.allocate(bytes);
        }
        return block.address();
    }

    synchronized long bytes() {
        return block.bytes();
    }

    synchronized void release() {
        allocator.release(block);
        block = DeviceAllocator.Block.EMPTY;
    }
}
