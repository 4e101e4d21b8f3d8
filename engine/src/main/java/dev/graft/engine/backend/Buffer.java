package dev.graft.engine.backend;

import dev.graft.engine.DType;
import dev.graft.engine.GraftException;
import dev.graft.engine.Scope;

/**
 * A block of element storage on one device, owned by exactly one {@link Scope}. Closing it frees the
 * memory at once (native buffers are never left to the garbage collector); using it afterwards is a
 * {@link GraftException}, never a JVM crash.
 */
public abstract class Buffer implements AutoCloseable {
    private final DType dtype;
    private final int numel;
    private Scope owner;
    private boolean closed;
    private int version;

    /** Registers the new buffer with the innermost open scope of this thread. */
    protected Buffer(DType dtype, int numel) {
        this.dtype = dtype;
        this.numel = numel;
        Scope.current().adopt(this);
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
