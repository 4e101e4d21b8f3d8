package dev.graft.engine;

import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Buffer;

/**
 * The value kernels work on: a shape, a layout and a buffer on one backend. No autograd here; {@link Tensor}
 * wraps an NDArray and records the graph. Views (reshapes) share their buffer.
 */
public final class NDArray {
    private final Backend backend;
    private final Buffer buffer;
    private final Shape shape;
    private final Layout layout;

    public NDArray(Backend backend, Buffer buffer, Shape shape, Layout layout) {
        if (buffer.numel() != shape.numel()) {
            throw new IllegalArgumentException("buffer of " + buffer.numel() + " elements for shape " + shape);
        }
        if (layout == Layout.CHANNELS_LAST && shape.rank() != 4) {
            throw new IllegalArgumentException("channels-last layout needs rank 4, got " + shape);
        }
        this.backend = backend;
        this.buffer = buffer;
        this.shape = shape;
        this.layout = layout;
    }

    public Backend backend() {
        return backend;
    }

    public Buffer buffer() {
        return buffer;
    }

    public Shape shape() {
        return shape;
    }

    public DType dtype() {
        return buffer.dtype();
    }

    public Layout layout() {
        return layout;
    }

    public Device device() {
        return backend.device();
    }

    public int numel() {
        return shape.numel();
    }

    /**
     * True when the physical order equals row-major order of the logical shape: always for ROW_MAJOR, and for
     * a channels-last array whose spatial size or channel count is 1.
     */
    public boolean isRowMajorOrder() {
        return layout == Layout.ROW_MAJOR || shape.dim(1) == 1 || shape.dim(2) * shape.dim(3) == 1;
    }

    /** The same elements under another shape of equal size; free unless the layout has to change first. */
    public NDArray reshape(Shape newShape) {
        if (newShape.numel() != shape.numel()) {
            throw ShapeException.of("reshape", "the new shape must have as many elements as the old one",
                    "from", shape, "to", newShape);
        }
        NDArray src = isRowMajorOrder() ? this : backend.toLayout(this, Layout.ROW_MAJOR);
        return new NDArray(backend, src.buffer, newShape, Layout.ROW_MAJOR);
    }

    /** Relabels a channels-last array whose order is row-major anyway; else returns {@code this}. */
    public NDArray withLayout(Layout target) {
        if (target == layout) {
            return this;
        }
        if (!isRowMajorOrder() || (target == Layout.CHANNELS_LAST && shape.rank() != 4)) {
            return backend.toLayout(this, target);
        }
        return new NDArray(backend, buffer, shape, target);
    }

    /** Elements in logical row-major order, as doubles. */
    public double[] toDoubleArray() {
        return backend.toHostDoubles(this);
    }

    /** Elements in logical row-major order, as floats. */
    public float[] toFloatArray() {
        return backend.toHostFloats(this);
    }

    @Override
    public String toString() {
        return "NDArray" + shape + " " + dtype() + " on " + device() + (layout == Layout.CHANNELS_LAST ? " (channels-last)" : "");
    }
}
