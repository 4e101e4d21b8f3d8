package dev.graft.engine;

/**
 * Gradient recording switch for this thread. {@code try (var g = Grad.off()) { ... }} runs inference or
 * parameter updates without recording a graph.
 */
public final class Grad {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});

    private Grad() {
    }

    public static boolean enabled() {
        return ENABLED.get()[0];
    }

    /** Turns recording off until the returned handle is closed, then restores the previous mode. */
    public static Mode off() {
        return set(false);
    }

    /** Turns recording on until the returned handle is closed. */
    public static Mode on() {
        return set(true);
    }

    private static Mode set(boolean on) {
        boolean[] flag = ENABLED.get();
        Mode m = new Mode(flag[0]);
        flag[0] = on;
        return m;
    }

    /** Restores the previous mode on close. */
    public static final class Mode implements AutoCloseable {
        private final boolean previous;

        private Mode(boolean previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            ENABLED.get()[0] = previous;
        }
    }
}
