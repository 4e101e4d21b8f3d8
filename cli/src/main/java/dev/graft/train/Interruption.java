package dev.graft.train;

import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.io.PrintStream;

/**
 * Ctrl-C (SIGINT) while epochs run. The first one only raises a flag: the loop stops at the next training step and
 * abandons that epoch, or, during validation, lets the epoch finish and write its checkpoint; either way the newest
 * checkpoint on disk is a whole epoch's. A second Ctrl-C halts at once (exit 130), which is safe because every file
 * is written atomically and a resume removes the temporary file a halted write leaves. The JVM's own handler is put
 * back on {@link #close()}, so Ctrl-C during the final report ends the process as before. Where the JVM reserves
 * the signal (-Xrs), nothing is installed and Ctrl-C ends the process as a kill would.
 */
final class Interruption implements AutoCloseable {
    /** The shell's convention for a process ended by SIGINT: 128 + 2. */
    static final int EXIT_CODE = 130;

    private static final Signal INT = new Signal("INT");

    private volatile boolean requested;
    private final SignalHandler previous;

    private Interruption(PrintStream out) {
        SignalHandler old;
        try {
            old = Signal.handle(INT, s -> {
                if (requested) {
                    Runtime.getRuntime().halt(EXIT_CODE);
                }
                requested = true;
                out.println();
                out.println("interrupt: stopping at the next step; the last finished epoch's checkpoint is kept (Ctrl-C again quits at once)");
            });
        } catch (IllegalArgumentException e) {
            old = null;
        }
        this.previous = old;
    }

    static Interruption install(PrintStream out) {
        return new Interruption(out);
    }

    boolean requested() {
        return requested;
    }

    @Override
    public void close() {
        if (previous != null) {
            Signal.handle(INT, previous);
        }
    }
}
