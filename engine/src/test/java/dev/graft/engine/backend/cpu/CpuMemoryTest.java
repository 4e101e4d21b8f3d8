package dev.graft.engine.backend.cpu;

import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.GraftException;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.Pooled;
import dev.graft.engine.backend.SgdSpec;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Native memory is owned by scopes, never by the garbage collector: a training loop with one scope per step
 * holds a constant number of native bytes (buffers, cached weight copies and scratch, counted by
 * {@link CpuBackend#nativeBytesInUse()}, and the caching allocator's free blocks), a buffer used after its scope closed is a GraftException, and a
 * System.gc() in the middle of work changes nothing (tests run with -Dorg.bytedeco.javacpp.nopointergc=true,
 * as the build configures, and our buffers come from malloc, which JavaCPP does not track either way).
 */
class CpuMemoryTest {

    @Test
    void cachingAllocatorReusesFreedBlocks() {
        long size = 3L << 20;
        CpuBackend.releaseCachedMemory();
        try (Scope s = Scope.open()) {
            Oracle.CPU.empty(dev.graft.engine.DType.F32, Shape.of((int) (size / 4)), dev.graft.engine.Layout.ROW_MAJOR);
        }
        long cached = CpuBackend.nativeBytesCached();
        assertTrue(cached >= size, "a closed 3 MiB block waits for reuse: " + cached);
        try (Scope s = Scope.open()) {
            Oracle.CPU.empty(dev.graft.engine.DType.F32, Shape.of((int) (size / 4)), dev.graft.engine.Layout.ROW_MAJOR);
            assertEquals(cached - NativeMemory.blockSize(size), CpuBackend.nativeBytesCached(), "the same block was taken again");
        }
        CpuBackend.releaseCachedMemory();
        assertEquals(0, CpuBackend.nativeBytesCached());
    }

    /**
     * A request malloc cannot serve (2^62 bytes) is "out of native memory", and the scope it was made in stays
     * usable and closes cleanly: the failed buffer never stays registered without memory (closing the scope used to
     * throw a NullPointerException from NativeMemory.close, hiding the real error). Both paths: pooled (a step's
     * scope) and malloc'd directly (a detached, long-lived scope).
     */
    @Test
    void aFailedAllocationIsOutOfMemoryAndLeavesItsScopeClean() {
        long huge = 1L << 62;
        long inUse = CpuBackend.nativeBytesInUse();
        Scope step = Scope.open("step");
        try {
            GraftException e = assertThrows(GraftException.class, () -> new NativeBuffer(1, huge));
            assertTrue(e.getMessage().startsWith("out of native memory"), e.getMessage());
            assertEquals(0, step.liveBuffers());
            assertEquals(0, step.liveBytes());
            new NativeBuffer(4); // the scope still works
            assertEquals(1, step.liveBuffers());
        } finally {
            step.close();
        }
        try (Scope model = Scope.detached("model")) {
            try (Scope.Entered in = model.enter()) {
                GraftException e = assertThrows(GraftException.class, () -> new NativeBuffer(1, huge));
                assertTrue(e.getMessage().startsWith("out of native memory"), e.getMessage());
            }
            assertEquals(0, model.liveBuffers());
        }
        assertEquals(inUse, CpuBackend.nativeBytesInUse(), "nothing was counted for the failed requests");
    }

    /** One SGD step of SmallNet on 16x16 inputs inside its own scope; parameters live in {@code model}. */
    private static float step(SmallNet net, Scope model, boolean gcInTheMiddle) {
        try (Scope step = Scope.open("step")) {
            Tensor loss = net.loss(true);
            if (gcInTheMiddle) {
                System.gc();
            }
            loss.backward();
            if (gcInTheMiddle) {
                System.gc();
            }
            for (Tensor p : net.params.values()) {
                // Momentum-free SGD needs no state; zeroGrad frees the gradient (it lives in the model scope).
                Oracle.CPU.sgdUpdate(p.data(), p.gradArray(), null, new SgdSpec(0.01, 0, 0, 0, false), true);
                p.zeroGrad();
            }
            return loss.toFloatArray()[0];
        }
    }

    @Test
    void nativeBytesStayFlatOverManyIterations() {
        CpuBackend cpu = (CpuBackend) Oracle.CPU;
        try (Scope model = Scope.open("model")) {
            SmallNet net = new SmallNet(Device.CPU, 5, 16);
            for (int i = 0; i < 3; i++) {
                step(net, model, false);
            }
            long bytes = CpuBackend.nativeBytesInUse();
            long cached = CpuBackend.nativeBytesCached();
            int modelBuffers = model.liveBuffers();
            int weightCopies = cpu.cachedWeightCopies();
            for (int i = 0; i < 25; i++) {
                step(net, model, false);
            }
            assertEquals(bytes, CpuBackend.nativeBytesInUse(), "native bytes after 25 more steps");
            assertEquals(modelBuffers, model.liveBuffers(), "buffers owned by the model scope");
            assertEquals(weightCopies, cpu.cachedWeightCopies(), "cached reordered weight copies");
            assertEquals(cached, CpuBackend.nativeBytesCached(), "bytes on the caching allocator's free lists");
        }
    }

    @Test
    void garbageCollectionDuringWorkChangesNothing() {
        float[] plain = new float[5];
        float[] withGc = new float[5];
        try (Scope model = Scope.open("model")) {
            SmallNet a = new SmallNet(Device.CPU, 9, 16);
            SmallNet b = new SmallNet(Device.CPU, 9, 16);
            for (int i = 0; i < 5; i++) {
                plain[i] = step(a, model, false);
                withGc[i] = step(b, model, true);
            }
        }
        assertArrayEquals(plain, withGc, "losses with and without System.gc() mid-step");
    }

    @Test
    void useAfterScopeCloseIsAGraftException() {
        NDArray leaked;
        Tensor leakedTensor;
        Pooled leakedPool;
        try (Scope s = Scope.open()) {
            leaked = Oracle.CPU.fromHost(new float[] {1, -2, 3, -4}, Shape.of(1, 1, 2, 2));
            leakedTensor = Tensor.fromArray(Device.CPU, new float[] {1, 2}, 2);
            leakedPool = Oracle.CPU.maxPool2d(leaked, Pool2dSpec.of(2, 2, 0), true);
        }
        try (Scope s = Scope.open()) {
            assertThrows(GraftException.class, () -> Oracle.CPU.relu(leaked));
            assertThrows(GraftException.class, () -> Oracle.CPU.toHostFloats(leaked));
            assertThrows(GraftException.class, () -> Oracle.CPU.fill(leaked, 1));
            assertThrows(GraftException.class, () -> Oracle.CPU.conv2d(leaked, leaked, null,
                    dev.graft.engine.backend.Conv2dSpec.of(1, 0)));
            assertThrows(GraftException.class, () -> Functional.relu(leakedTensor));
            assertThrows(GraftException.class, leakedTensor::toFloatArray);
            NDArray live = Oracle.CPU.fromHost(new float[] {1, -2, 3, -4}, Shape.of(1, 1, 2, 2));
            NDArray dy = Oracle.CPU.fromHost(new float[] {1}, Shape.of(1, 1, 1, 1));
            // The workspace of a closed scope is a closed buffer too.
            assertThrows(GraftException.class, () -> Oracle.CPU.maxPool2dBackward(dy, live, leakedPool, Pool2dSpec.of(2, 2, 0)));
        }
    }

    @Test
    void buffersAreInvisibleToJavaCppsAccounting() {
        // JavaCPP refuses allocations once its counted totalBytes passes maxBytes (the heap size by default) and
        // calls System.gc() to make room. cpu buffers come from plain malloc: never counted, never refused.
        long counted = org.bytedeco.javacpp.Pointer.totalBytes();
        long before = CpuBackend.nativeBytesInUse();
        try (Scope s = Scope.open()) {
            NDArray big = Oracle.CPU.empty(dev.graft.engine.DType.F32, Shape.of(16, 1024, 1024), dev.graft.engine.Layout.ROW_MAJOR);
            Oracle.CPU.fill(big, 0);
            long grown = CpuBackend.nativeBytesInUse() - before;
            // The caching allocator rounds large blocks up to whole granules and may leave a small remainder attached.
            assertTrue(grown >= 64L << 20 && grown <= (64L << 20) + NativeMemory.GRANULE + BlockPool.SPLIT_MIN,
                    "bytes in use grew by " + grown);
            assertEquals(counted, org.bytedeco.javacpp.Pointer.totalBytes(), "bytes JavaCPP counts");
        }
        assertEquals(before, CpuBackend.nativeBytesInUse());
    }

}
