package dev.graft.engine;

import dev.graft.engine.backend.Buffer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Owner of tensor storage. Every buffer belongs to exactly one scope and is freed when that scope closes.
 *
 * <p>Scopes nest per thread: {@link #open()} pushes a scope that new tensors go to, and closing it frees
 * everything made inside except what was {@linkplain #keep kept} into the enclosing scope. A
 * {@link #detached} scope (a model's parameters, optimizer state) lives as long as its owner and receives
 * allocations only while {@linkplain #enter entered}. One training step is one scope.
 *
 * <p>The stack is thread-confined: open, enter and close a scope on the thread that uses it. A buffer may
 * be closed from any thread.
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<ArrayDeque<Scope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final String name;
    private final Scope parent;
    private final boolean intermediates;
    private final boolean detached;
    private final Set<Buffer> buffers = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean closed;
    private long bytes;

    private Scope(String name, Scope parent, boolean intermediates, boolean detached) {
        this.name = name;
        this.parent = parent;
        this.intermediates = intermediates;
        this.detached = detached;
    }

    /** Opens a scope on this thread; tensors created until it closes belong to it. */
    public static Scope open() {
        return open("scope");
    }

    public static Scope open(String name) {
        Scope s = new Scope(name, STACK.get().peek(), false, false);
        STACK.get().push(s);
        return s;
    }

    /**
     * Opens a scope for the intermediate values of one stage of a computation (a residual block), inside the
     * current scope: {@code try (Scope s = Scope.openIntermediates("layer1.0")) { y = s.keep(block.forward(y)); }}.
     * Closing it frees at once what nothing needs any more; storage that a recorded backward pass still reads
     * ({@linkplain Buffer#pin pinned} by a differentiable op) moves to the enclosing scope and is freed as soon as
     * that backward pass has used it, or with the enclosing scope. Use it only where no caller can see the
     * intermediate tensors; the result is kept, as with any scope. A training step then holds what PyTorch holds
     * (saved activations), not every intermediate of the forward pass.
     */
    public static Scope openIntermediates(String name) {
        Scope s = new Scope(name, current(), true, false);
        STACK.get().push(s);
        return s;
    }

    /** A scope that is not on any stack: it owns what is allocated while it is {@link #enter entered}. */
    public static Scope detached(String name) {
        return new Scope(name, null, false, true);
    }

    /** The innermost open scope of this thread. */
    public static Scope current() {
        Scope s = STACK.get().peek();
        if (s == null) {
            throw new GraftException("no Scope is open on this thread: create tensors inside "
                    + "try (Scope scope = Scope.open()) { ... } so their memory has an owner");
        }
        return s;
    }

    /** Makes this scope the innermost one until the returned handle is closed. */
    public Entered enter() {
        checkNotClosed();
        STACK.get().push(this);
        return new Entered(this);
    }

    /** Handle returned by {@link #enter()}; closing it leaves the scope without freeing anything. */
    public static final class Entered implements AutoCloseable {
        private final Scope scope;
        private boolean done;

        private Entered(Scope scope) {
            this.scope = scope;
        }

        @Override
        public void close() {
            if (!done) {
                done = true;
                pop(scope);
            }
        }
    }

    /** Moves the tensor's storage (and its gradient's) to the enclosing scope, so it outlives this one. */
    public <T extends Tensor> T keep(T tensor) {
        if (parent == null) {
            throw new GraftException("scope '" + name + "' has no enclosing scope to keep a tensor in; use moveTo(scope, tensor)");
        }
        return moveTo(parent, tensor);
    }

    /** Moves the tensor's storage (and its gradient's) to {@code target}. */
    public static <T extends Tensor> T moveTo(Scope target, T tensor) {
        transfer(tensor.data().buffer(), target);
        if (tensor.gradArray() != null) {
            transfer(tensor.gradArray().buffer(), target);
        }
        return tensor;
    }

    /** Moves one buffer to {@code target}. */
    public static void transfer(Buffer buffer, Scope target) {
        target.checkNotClosed();
        Scope from = buffer.owner();
        if (from == target) {
            return;
        }
        if (from != null) {
            from.forget(buffer);
        }
        target.adopt(buffer);
    }

    /** Called by {@link Buffer}'s constructor. */
    public synchronized void adopt(Buffer buffer) {
        checkNotClosed();
        if (buffers.add(buffer)) {
            bytes += buffer.bytes();
        }
        buffer.setOwner(this);
    }

    /** Called when a buffer closes early or moves away. */
    public synchronized void forget(Buffer buffer) {
        if (buffers.remove(buffer)) {
            bytes -= buffer.bytes();
        }
    }

    public synchronized int liveBuffers() {
        return buffers.size();
    }

    public synchronized long liveBytes() {
        return bytes;
    }

    public String name() {
        return name;
    }

    /** True for a {@link #detached} scope: its storage lives as long as its owner (backends may allocate it apart). */
    public boolean isDetached() {
        return detached;
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    private void checkNotClosed() {
        if (isClosed()) {
            throw new GraftException("scope '" + name + "' is already closed");
        }
    }

    /**
     * Frees every buffer this scope still owns (for {@link #openIntermediates}, pinned ones move to the enclosing
     * scope instead); leaves the thread's stack if this scope is on it.
     */
    @Override
    public void close() {
        List<Buffer> toFree;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toFree = new ArrayList<>(buffers);
            buffers.clear();
            bytes = 0;
        }
        boolean handOver = intermediates && parent != null && !parent.isClosed();
        for (Buffer b : toFree) {
            b.setOwner(null);
            if (handOver && b.isPinned()) {
                parent.adopt(b);
                b.freeWhenUnpinned();
            } else {
                b.close();
            }
        }
        if (STACK.get().contains(this)) {
            pop(this);
        }
    }

    private static void pop(Scope scope) {
        ArrayDeque<Scope> stack = STACK.get();
        if (stack.peek() != scope) {
            // Leave the stack consistent even when scopes are closed out of order.
            stack.removeFirstOccurrence(scope);
            throw new GraftException("scope '" + scope.name + "' was closed while an inner scope was still open; "
                    + "close scopes in the reverse order they were opened (try-with-resources does this)");
        }
        stack.pop();
    }

    @Override
    public String toString() {
        return "Scope[" + name + ", " + liveBuffers() + " buffers, " + liveBytes() + " bytes]";
    }
}
