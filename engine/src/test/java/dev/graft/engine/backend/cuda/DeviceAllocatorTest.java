package dev.graft.engine.backend.cuda;

import dev.graft.engine.NativeException;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The allocator's bookkeeping over a fake device (no GPU needed); the gpu suite repeats the key checks on cudaMalloc. */
class DeviceAllocatorTest {

    /** A device with a capacity; addresses count up; remembers what is allocated. */
    static final class FakeMemory implements RawDeviceMemory {
        final long capacity;
        final Map<Long, Long> blocks = new HashMap<>();
        long used;
        long next = 0x1000;
        int mallocs;
        int frees;

        FakeMemory(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public long malloc(long bytes) {
            if (used + bytes > capacity) {
                return 0;
            }
            mallocs++;
            used += bytes;
            long a = next;
            next += bytes + 256;
            blocks.put(a, bytes);
            return a;
        }

        @Override
        public void free(long address) {
            Long b = blocks.remove(address);
            if (b == null) {
                throw new AssertionError("free of unknown address " + address);
            }
            frees++;
            used -= b;
        }

        @Override
        public long[] info() {
            return new long[] {capacity - used, capacity};
        }
    }

    @Test
    void roundsSmallRequestsTo512BytesAndLargeOnesTo2MiB() {
        assertEquals(512, DeviceAllocator.roundUp(1));
        assertEquals(512, DeviceAllocator.roundUp(512));
        assertEquals(1024, DeviceAllocator.roundUp(513));
        assertEquals(1 << 20, DeviceAllocator.roundUp(1 << 20));
        assertEquals(2 << 20, DeviceAllocator.roundUp((1 << 20) + 1));
        assertEquals(4 << 20, DeviceAllocator.roundUp((2 << 20) + 1));
    }

    @Test
    void aReturnedBlockServesTheNextRequestOfItsBucket() {
        FakeMemory mem = new FakeMemory(1L << 30);
        DeviceAllocator a = new DeviceAllocator(mem);
        DeviceAllocator.Block b1 = a.allocate(1000);
        a.release(b1);
        DeviceAllocator.Block b2 = a.allocate(1024);
        assertEquals(b1.address(), b2.address(), "same bucket (1024 B) reuses the block");
        assertEquals(1, mem.mallocs);
        DeviceAllocator.Block b3 = a.allocate(100);
        assertNotEquals(b2.address(), b3.address());
        AllocatorStats s = a.stats();
        assertEquals(1024 + 512, s.inUse());
        assertEquals(0, s.cached());
        assertEquals(1, s.cacheHits());
        assertEquals(2, s.deviceMallocs());
    }

    @Test
    void inUseReturnsToItsStartAfterRepeatedAllocAndFree() {
        FakeMemory mem = new FakeMemory(1L << 32);
        DeviceAllocator a = new DeviceAllocator(mem);
        long[] sizes = {1, 4096, 100_000, 3 << 20, 64 << 20};
        for (int round = 0; round < 100; round++) {
            DeviceAllocator.Block[] held = new DeviceAllocator.Block[sizes.length];
            for (int i = 0; i < sizes.length; i++) {
                held[i] = a.allocate(sizes[i]);
            }
            for (DeviceAllocator.Block b : held) {
                a.release(b);
            }
            assertEquals(0, a.stats().inUse());
        }
        AllocatorStats s = a.stats();
        assertEquals(sizes.length, s.deviceMallocs(), "every round after the first is served from the cache");
        assertEquals(99L * sizes.length, s.cacheHits());
        long total = 0;
        for (long size : sizes) {
            total += DeviceAllocator.roundUp(size);
        }
        assertEquals(total, s.cached());
        assertEquals(total, s.peakInUse());
    }

    @Test
    void outOfMemoryEmptiesTheCacheAndRetriesOnce() {
        FakeMemory mem = new FakeMemory(8L << 20);
        DeviceAllocator a = new DeviceAllocator(mem);
        a.release(a.allocate(6L << 20));
        assertEquals(6L << 20, a.stats().cached());
        DeviceAllocator.Block big = a.allocate(4L << 20);
        assertEquals(1, a.stats().oomRetries());
        assertEquals(0, a.stats().cached());
        assertEquals(4L << 20, a.stats().inUse());
        NativeException e = assertThrows(NativeException.class, () -> a.allocate(6L << 20));
        assertTrue(e.getMessage().contains("out of device memory"), e.getMessage());
        a.release(big);
    }

    @Test
    void doubleReleaseIsCaughtAndZeroBytesAllocateNothing() {
        DeviceAllocator a = new DeviceAllocator(new FakeMemory(1 << 20));
        assertSame(DeviceAllocator.Block.EMPTY, a.allocate(0));
        a.release(DeviceAllocator.Block.EMPTY);
        DeviceAllocator.Block b = a.allocate(10);
        a.release(b);
        assertThrows(IllegalStateException.class, () -> a.release(b));
    }

    @Test
    void closeFreesCachedAndLiveBlocksAndLaterReleasesAreHarmless() {
        FakeMemory mem = new FakeMemory(1L << 30);
        DeviceAllocator a = new DeviceAllocator(mem);
        DeviceAllocator.Block live = a.allocate(5000);
        a.release(a.allocate(3 << 20));
        a.close();
        assertEquals(0, mem.used);
        assertEquals(0, mem.blocks.size());
        a.release(live);
        assertThrows(IllegalStateException.class, () -> a.allocate(1));
    }

    @Test
    void peakTracksTheHighWaterMark() {
        DeviceAllocator a = new DeviceAllocator(new FakeMemory(1L << 30));
        DeviceAllocator.Block x = a.allocate(10 << 20);
        DeviceAllocator.Block y = a.allocate(10 << 20);
        a.release(x);
        a.release(y);
        assertEquals(20L << 20, a.stats().peakInUse());
        a.resetPeak();
        assertEquals(0, a.stats().peakInUse());
    }
}
