package dev.graft.engine;

/**
 * One differentiable primitive: {@link #forward} computes the output with backend kernels and saves what
 * {@link #backward} will need; {@link #backward} turns the output's gradient into one gradient per input.
 * Composite ops (linear, cross-entropy, a residual block) are built from primitives and have no class here.
 *
 * <p>{@link #needsInputGrad(int)} is known before forward runs, so a primitive saves nothing for inputs that
 * need no gradient: a frozen convolution keeps no input for a weight gradient nobody wants.
 */
public abstract class Function {
    private boolean[] needsInputGrad = new boolean[0];

    /** Computes the output; inputs may contain null for absent optional operands (a bias). */
    protected abstract NDArray forward(NDArray... inputs);

    /** One entry per forward input: its gradient, or null where {@link #needsInputGrad} was false. */
    protected abstract NDArray[] backward(NDArray gradOutput);

    /** Drops saved arrays after backward; called once. */
    protected void release() {
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

    final void setNeedsInputGrad(boolean[] needs) {
        this.needsInputGrad = needs;
    }

    public String name() {
        String n = getClass().getSimpleName();
        return n.endsWith("Function") ? n.substring(0, n.length() - "Function".length()) : n;
    }
}
