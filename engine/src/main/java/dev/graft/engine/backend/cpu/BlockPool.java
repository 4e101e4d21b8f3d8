package dev.graft.engine.backend.cpu;

import org.bytedeco.javacpp.Pointer;

import java.util.Comparator;
import java.util.TreeSet;

/**
 * The caching allocator's store of large blocks: segments from {@code malloc}, carved into blocks on demand and
 * merged back when neighbours are free, in the manner of PyTorch's CUDA caching allocator. A request takes the
 * smallest free block that fits (best fit) and splits off the rest when the rest is worth keeping, so memory a
 * freed 112x112 activation held serves four 56x56 ones instead of idling next to fresh allocations; only when no
 * free block fits is a new segment of the requested size malloc'd. Free memory beyond {@code limit} bytes is
 * returned to the system a whole free segment at a time. Not thread-safe: {@link NativeMemory} holds its lock.
 */
final class BlockPool {
    /** A remainder smaller than this stays with the block it was cut from (slack, not a new free block). */
    static final long SPLIT_MIN = 1L << 20;

    /** One malloc'd region; its blocks tile it in address order. */
    private static final class Segment {
        final Pointer base;
        final long bytes;

        Segment(Pointer base, long bytes) {
            this.base = base;
            this.bytes = bytes;
        }
    }

    /** A range of a segment, allocated or free; neighbours in the segment are linked. */
    static final class Block {
        private final Segment segment;
        private final long offset;
        private long bytes;
        private boolean free;
        private Block prev;
        private Block next;

        private Block(Segment segment, long offset, long bytes) {
            this.segment = segment;
            this.offset = offset;
            this.bytes = bytes;
        }

        long bytes() {
            return bytes;
        }

        /** The segment's base pointer; the block starts {@link #offset()} bytes into it. */
        Pointer base() {
            return segment.base;
        }

        long offset() {
            return offset;
        }

        private long address() {
            return segment == null ? Long.MIN_VALUE : segment.base.address() + offset; // null: a search probe
        }
    }

    private final TreeSet<Block> free = new TreeSet<>(Comparator.comparingLong((Block b) -> b.bytes).thenComparingLong(Block::address));
    private final long limit;
    private long freeBytes;
    private long segmentBytes;

    BlockPool(long limit) {
        this.limit = limit;
    }

    /** Bytes of free blocks (memory held for reuse). */
    long freeBytes() {
        return freeBytes;
    }

    /** Bytes of all segments (held from the system). */
    long segmentBytes() {
        return segmentBytes;
    }

    /** A block of at least {@code bytes}; null if malloc failed (the caller may release memory and retry). */
    Block allocate(long bytes) {
        Block probe = new Block(null, 0, bytes);
        Block b = free.ceiling(probe);
        if (b != null) {
            free.remove(b);
            freeBytes -= b.bytes;
        } else {
            Pointer p = Pointer.malloc(bytes);
            if (p == null || p.isNull()) {
                return null;
            }
            Segment s = new Segment(p, bytes);
            segmentBytes += bytes;
            b = new Block(s, 0, bytes);
        }
        b.free = false;
        if (b.bytes - bytes >= SPLIT_MIN) {
            Block rest = new Block(b.segment, b.offset + bytes, b.bytes - bytes);
            rest.free = true;
            rest.prev = b;
            rest.next = b.next;
            if (b.next != null) {
                b.next.prev = rest;
            }
            b.next = rest;
            b.bytes = bytes;
            free.add(rest);
            freeBytes += rest.bytes;
        }
        return b;
    }

    /** Returns {@code b} to the pool, merged with free neighbours; a whole free segment over the limit goes back to the system. */
    void release(Block b) {
        b.free = true;
        Block next = b.next;
        if (next != null && next.free) {
            free.remove(next);
            freeBytes -= next.bytes;
            b.bytes += next.bytes;
            unlink(next);
        }
        Block prev = b.prev;
        if (prev != null && prev.free) {
            free.remove(prev);
            freeBytes -= prev.bytes;
            prev.bytes += b.bytes;
            unlink(b);
            b = prev;
        }
        if (b.prev == null && b.next == null && freeBytes + b.bytes > limit) {
            freeSegment(b.segment);
            return;
        }
        free.add(b);
        freeBytes += b.bytes;
    }

    /** Frees every segment that is entirely free; returns the bytes given back. */
    long releaseFreeSegments() {
        long released = 0;
        for (Block b : free.toArray(new Block[0])) {
            if (b.prev == null && b.next == null) {
                free.remove(b);
                freeBytes -= b.bytes;
                released += b.bytes;
                freeSegment(b.segment);
            }
        }
        return released;
    }

    private void freeSegment(Segment s) {
        segmentBytes -= s.bytes;
        Pointer.free(s.base);
    }

    private static void unlink(Block b) {
        if (b.prev != null) {
            b.prev.next = b.next;
        }
        if (b.next != null) {
            b.next.prev = b.prev;
        }
        b.prev = null;
        b.next = null;
    }
}
