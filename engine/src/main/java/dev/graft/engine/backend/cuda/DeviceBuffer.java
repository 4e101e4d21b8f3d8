package dev.graft.engine.backend.cuda;

import dev.graft.engine.DType;
import dev.graft.engine.backend.Buffer;

/**
 * F32 storage in device memory, owned by a {@link dev.graft.engine.Scope} like every buffer: closing it returns
 * the block to the backend's {@link DeviceAllocator} at once (never through the garbage collector).
 */
final class DeviceBuffer extends Buffer {
    private final DeviceAllocator allocator;
    private final DeviceAllocator.Block block;

    private DeviceBuffer(DeviceAllocator allocator, DeviceAllocator.Block block, DType dtype, int numel) {
        super(dtype, numel);
        this.allocator = allocator;
        this.block = block;
    }

    /** Allocates first, so a failed registration (no open scope) gives the block straight back. */
    static DeviceBuffer allocate(DeviceAllocator allocator, DType dtype, int numel) {
        DeviceAllocator.Block b = allocator.allocate((long) numel * dtype.bytes());
        try {
            return new DeviceBuffer(allocator, b, dtype, numel);
        } catch (RuntimeException | Error e) {
            allocator.release(b);
            throw e;
        }
    }

    /** The device address; throws if the buffer was closed. */
    long address() {
        checkOpen();
        return block.address();
    }

    @Override
    protected void free() {
        allocator.release(block);
    }
}
