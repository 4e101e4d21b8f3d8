package dev.graft.engine;

import dev.graft.engine.backend.Buffer;

import java.util.ArrayList;
import java.util.List;

/**
 * One differentiable primitive: {@link #forward} computes the output with backend kernels and saves what
 * {@link #backward} will need; {@link #backward} turns the output's gradient into one gradient per input.
 * Composite ops (linear, cross-entropy, a residual block) are built from primitives and have no class here.
 *
 * <p>{@link #needsInputGrad(int)} is known before forward runs, so a primitive saves nothing for inputs that
 * need no gradient: a frozen convolution keeps no input for a weight gradient nobody wants. Whatever backward
 * will read goes through {@link #save}, which {@linkplain Buffer#pin pins} its storage until the function is
 * released, so intermediate values nobody saved can be freed early ({@link Scope#openIntermediates}).
 */
public abstract class Function {
    private boolean[] needsInputGrad = new boolean[0];
    private List<Buffer> pinned;
    private boolean gradientWritable;

    /** Computes the output; inputs may contain null for absent optional operands (a bias). */
    protected abstract NDArray forward(NDArray... inputs);

    /** One entry per forward input: its gradient, or null where {@link #needsInputGrad} was false. */
    protected abstract NDArray[] backward(NDArray gradOutput);

    /** Drops saved arrays after backward; called once. */
    protected void release() {
    }

    /** Keeps {@code a} for backward (pins its storage until this function is released); returns it. */
    protected final NDArray save(NDArray a) {
        if (a != null) {
            pin(a.buffer());
        }
        return a;
    }

    /** Keeps storage that is not an array (a pooling workspace) for backward. */
    protected final void pin(Buffer b) {
        if (b == null) {
            return;
        }
        if (pinned == null) {
            pinned = new ArrayList<>(2);
        }
        b.pin();
        pinned.add(b);
    }

    /** {@link #release()} plus unpinning what was saved: after backward, or at once when nothing was recorded. */
    final void releaseSaved() {
        release();
        if (pinned != null) {
            List<Buffer> p = pinned;
            pinned = null;
            p.forEach(Buffer::unpin);
        }
    }

    /** True when input {@code i} requires a gradient and recording is on. */
    protected final boolean needsInputGrad(int i) {
        return i < needsInputGrad.length && needsInputGrad[i];
    }

    /** True when any input needs a gradient, i.e. this call is being recorded. */
    protected final boolean recording() {
        for (boolean b : needsInputGrad) {
            if (b) {
                return true;
            }
        }
        return false;
    }

    /**
     * True during {@link #backward} when the output gradient is a temporary of this backward pass that nothing else
     * reads: backward may write its result over it (and return it) instead of allocating.
     */
    protected final boolean gradientWritable() {
        return gradientWritable;
    }

    final void setGradientWritable(boolean writable) {
        gradientWritable = writable;
    }

    final void setNeedsInputGrad(boolean[] needs) {
        this.needsInputGrad = needs;
    }

    public String name() {
        String n = getClass().getSimpleName();
        return n.endsWith("Function") ? n.substring(0, n.length() - "Function".length()) : n;
    }
}
