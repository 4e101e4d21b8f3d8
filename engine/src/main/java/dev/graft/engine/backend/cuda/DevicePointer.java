package dev.graft.engine.backend.cuda;

import org.bytedeco.javacpp.FloatPointer;

/**
 * A JavaCPP view of a raw address (device memory, or a host address inside a block another Pointer owns) that owns nothing: no deallocator, so JavaCPP never
 * counts or frees it. The memory belongs to a {@link DeviceAllocator} block. A FloatPointer because cuBLAS's
 * F32 entry points want one; cuDNN and the runtime accept any Pointer.
 */
final class DevicePointer extends FloatPointer {
    DevicePointer(long address) {
        this.address = address;
    }

    static DevicePointer of(long address) {
        return new DevicePointer(address);
    }
}
