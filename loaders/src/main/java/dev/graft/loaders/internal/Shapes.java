package dev.graft.loaders.internal;

import dev.graft.engine.Shape;
import dev.graft.engine.ShapeException;
import dev.graft.loaders.LoadLimits;
import java.util.Arrays;

/**
 * Shapes read from files, where a bad size is a format error rather than a shape error. A readable shape has at
 * most {@link LoadLimits#MAX_RANK} dimensions, each in [0, 2^31), and fewer than 2^31 - 8 elements (one Java
 * array); the writers refuse what this refuses.
 */
public final class Shapes {
    private Shapes() {
    }

    public static Shape of(Source source, long offset, long[] dims, String what) {
        if (dims.length > LoadLimits.MAX_RANK) {
            throw source.error(offset, what + " has " + dims.length + " dimensions; at most " + LoadLimits.MAX_RANK
                    + " are supported");
        }
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

    /** Why a tensor of this shape cannot be written so that Graft reads it back, or null when it can. */
    public static String unwritable(Shape shape) {
        return shape.rank() > LoadLimits.MAX_RANK
                ? "it has " + shape.rank() + " dimensions and Graft reads at most " + LoadLimits.MAX_RANK
                : null;
    }
}
