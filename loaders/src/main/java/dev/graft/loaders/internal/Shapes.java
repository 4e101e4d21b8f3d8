package dev.graft.loaders.internal;

import dev.graft.engine.Shape;
import dev.graft.engine.ShapeException;
import java.util.Arrays;

/** Shapes read from files, where a bad size is a format error rather than a shape error. */
public final class Shapes {
    private Shapes() {
    }

    public static Shape of(Source source, long offset, long[] dims, String what) {
        try {
            return Shape.of(dims);
        } catch (ShapeException | ArithmeticException e) {
            throw source.error(offset, what + " has an unsupported shape " + Arrays.toString(dims) + ": " + e.getMessage());
        }
    }

    /** {@code numel * elementBytes} or a format error on overflow. */
    public static long bytes(Source source, long offset, long numel, int elementBytes, String what) {
        try {
            return Math.multiplyExact(numel, (long) elementBytes);
        } catch (ArithmeticException e) {
            throw source.error(offset, what + " claims " + numel + " elements: too many to address");
        }
    }
}
