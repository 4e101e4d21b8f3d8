package dev.graft.engine;

/** An op received shapes (or hyper-parameters) that break one of its rules. */
public class ShapeException extends GraftException {
    public ShapeException(String message) {
        super(message);
    }

    /** {@code op}: the op's name; {@code rule}: the relation that was expected. */
    public static ShapeException of(String op, String rule, Object... shapes) {
        StringBuilder b = new StringBuilder(op).append(": ").append(rule);
        if (shapes.length > 0) {
            b.append(" (got");
            for (int i = 0; i < shapes.length; i += 2) {
                b.append(i == 0 ? " " : ", ").append(shapes[i]);
                if (i + 1 < shapes.length) {
                    b.append(' ').append(shapes[i + 1]);
                }
            }
            b.append(')');
        }
        return new ShapeException(b.toString());
    }
}
