package dev.graft.engine.backend.cpu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Best fit, splitting and merging of the large-block pool, and the limit on what it keeps. */
class BlockPoolTest {
    private static final long MIB = 1L << 20;

    @Test
    void aFreedLargeBlockServesSmallerRequestsAndMergesBack() {
        BlockPool pool = new BlockPool(Long.MAX_VALUE);
        BlockPool.Block big = pool.allocate(100 * MIB);
        assertEquals(100 * MIB, pool.segmentBytes());
        pool.release(big);
        List<BlockPool.Block> quarters = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            quarters.add(pool.allocate(25 * MIB));
        }
        assertEquals(100 * MIB, pool.segmentBytes(), "four quarters were carved from the freed block, nothing new malloc'd");
        assertEquals(0, pool.freeBytes());
        for (int i = 0; i < 4; i++) {
            assertEquals(i * 25 * MIB, quarters.get(i).offset(), "quarters tile the segment in order");
        }
        pool.release(quarters.get(1));
        pool.release(quarters.get(3));
        pool.release(quarters.get(0));
        pool.release(quarters.get(2));
        BlockPool.Block again = pool.allocate(100 * MIB);
        assertEquals(0, again.offset(), "the quarters merged back into one block");
        assertEquals(100 * MIB, pool.segmentBytes());
        pool.release(again);
        assertEquals(100 * MIB, pool.releaseFreeSegments());
        assertEquals(0, pool.segmentBytes());
    }

    @Test
    void bestFitTakesTheSmallestFreeBlockThatFits() {
        BlockPool pool = new BlockPool(Long.MAX_VALUE);
        BlockPool.Block a = pool.allocate(8 * MIB);
        BlockPool.Block b = pool.allocate(4 * MIB);
        pool.release(a);
        pool.release(b);
        BlockPool.Block c = pool.allocate(3 * MIB);
        assertEquals(b.base().address(), c.base().address(), "the 4 MiB segment served 3 MiB");
        assertEquals(3 * MIB, c.bytes(), "a remainder of SPLIT_MIN (1 MiB) is split off");
        pool.release(c);
        BlockPool.Block d = pool.allocate(3 * MIB + MIB / 2);
        assertEquals(4 * MIB, d.bytes(), "a remainder under SPLIT_MIN stays with the block");
        pool.release(d);
        pool.releaseFreeSegments();
        assertEquals(0, pool.segmentBytes());
    }

    @Test
    void freeMemoryBeyondTheLimitGoesBackToTheSystem() {
        BlockPool pool = new BlockPool(10 * MIB);
        BlockPool.Block a = pool.allocate(8 * MIB);
        BlockPool.Block b = pool.allocate(8 * MIB);
        pool.release(a);
        assertEquals(8 * MIB, pool.freeBytes());
        pool.release(b);
        assertEquals(8 * MIB, pool.freeBytes(), "a second free 8 MiB segment would pass the 10 MiB limit");
        assertEquals(8 * MIB, pool.segmentBytes());
        pool.releaseFreeSegments();
    }

    @Test
    void randomTrafficKeepsTheBooksBalanced() {
        BlockPool pool = new BlockPool(Long.MAX_VALUE);
        Random r = new Random(3);
        List<BlockPool.Block> live = new ArrayList<>();
        long liveBytes = 0;
        for (int i = 0; i < 5000; i++) {
            if (live.isEmpty() || r.nextInt(3) > 0 && live.size() < 40) {
                BlockPool.Block b = pool.allocate((1 + r.nextInt(64)) * 64 * 1024L * 16);
                assertNotNull(b);
                live.add(b);
                liveBytes += b.bytes();
            } else {
                BlockPool.Block b = live.remove(r.nextInt(live.size()));
                liveBytes -= b.bytes();
                pool.release(b);
            }
            assertEquals(pool.segmentBytes(), liveBytes + pool.freeBytes(), "segments = live + free at step " + i);
        }
        live.forEach(pool::release);
        assertTrue(pool.releaseFreeSegments() > 0);
        assertEquals(0, pool.segmentBytes(), "everything merged back into whole free segments");
    }
}
