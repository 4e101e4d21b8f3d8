package dev.graft.engine.backend;

import dev.graft.engine.DType;
import dev.graft.engine.GraftException;
import dev.graft.engine.Scope;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A block of element storage on one device, owned by exactly one {@link Scope}. Closing it frees the
 * memory at once (native buffers are never left to the garbage collector); using it afterwards is a
 * {@link GraftException}, never a JVM crash.
 */
public abstract class Buffer implements AutoCloseable {
    private static final AtomicLong SERIALS = new AtomicLong();

    private final DType dtype;
    private final int numel;
    private final long serial;
    private Scope owner;
    private boolean closed;
    private int version;
    private int pins;
    private boolean freeWhenUnpinned;

    /** Registers the new buffer with the innermost open scope of this thread. */
    protected Buffer(DType dtype, int numel) {
        this.dtype = dtype;
        this.numel = numel;
        this.serial = SERIALS.getAndIncrement();
        Scope.current().adopt(this);
    }

    /**
     * Allocation order, process-wide: a buffer whose serial is at least {@link #nextSerial()} read at some moment
     * was allocated after that moment (backward uses it to tell its own gradient temporaries from user data).
     */
    public final long serial() {
        return serial;
    }

    /** The serial the next buffer will get. */
    public static long nextSerial() {
        return SERIALS.get();
    }

    /**
     * Marks the storage as needed by a recorded backward pass (a differentiable op saved it); each pin is undone by
     * one {@link #unpin()}. Pins never keep a buffer past its scope; they only stop an early free (see
     * {@link Scope#openIntermediates}).
     */
    public final synchronized void pin() {
        pins++;
    }

    /** Drops one pin; frees the buffer if that was the last pin and its scope has already let go of it. */
    public final void unpin() {
        boolean free;
        synchronized (this) {
            pins--;
            free = pins == 0 && freeWhenUnpinned;
        }
        if (free) {
            close();
        }
    }

    public final synchronized boolean isPinned() {
        return pins > 0;
    }

    /** Called by {@link Scope} only: free this buffer as soon as its last pin is dropped. */
    public final synchronized void freeWhenUnpinned() {
        freeWhenUnpinned = true;
    }

    public final DType dtype() {
        return dtype;
    }

    public final int numel() {
        return numel;
    }

    public final long bytes() {
        return (long) numel * dtype.bytes();
    }

    /** Bumped on every in-place write, so caches of derived data (reordered weights) know when to refresh. */
    public final int version() {
        return version;
    }

    public final void bumpVersion() {
        version++;
    }

    public final synchronized boolean isClosed() {
        return closed;
    }

    /** Throws unless the buffer is still allocated; backends call it before touching memory. */
    public final void checkOpen() {
        if (isClosed()) {
            throw new GraftException("a tensor was used after the Scope that owned it closed; keep it with "
                    + "scope.keep(tensor) or allocate it in a longer-lived scope");
        }
    }

    public final synchronized Scope owner() {
        return owner;
    }

    /** Called by {@link Scope} only. */
    public final synchronized void setOwner(Scope scope) {
        this.owner = scope;
    }

    /**
     * Undoes the registration of a buffer whose storage could not be allocated: a subclass constructor calls it
     * before rethrowing, so the scope never holds (and later tries to free) a buffer that has no memory, and the
     * caller sees the allocation failure itself ("out of native memory"), not a failure to free.
     */
    protected final void abandon() {
        Scope from;
        synchronized (this) {
            closed = true;
            from = owner;
            owner = null;
        }
        if (from != null) {
            from.forget(this);
        }
    }

    @Override
    public final void close() {
        Scope from;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            from = owner;
            owner = null;
        }
        if (from != null) {
            from.forget(this);
        }
        free();
    }

    /** Releases the memory; called once. */
    protected abstract void free();
}
