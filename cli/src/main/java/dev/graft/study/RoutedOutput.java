package dev.graft.study;

import java.io.OutputStream;
import java.io.IOException;
import java.io.PrintStream;

/**
 * Sends what a study's runs print to each run's own log: {@code graft train} writes to {@code System.out} and
 * {@code System.err}, so while a study runs both are replaced by one of these, which writes to the stream the
 * current thread (and the threads it starts: the loader's decoding threads) was given, else to the terminal.
 */
final class RoutedOutput extends OutputStream {
    private final PrintStream terminal;
    private final InheritableThreadLocal<PrintStream> target = new InheritableThreadLocal<>();

    RoutedOutput(PrintStream terminal) {
        this.terminal = terminal;
    }

    /** Routes this thread's (and its future child threads') output to {@code log}; null: back to the terminal. */
    void route(PrintStream log) {
        if (log == null) {
            target.remove();
        } else {
            target.set(log);
        }
    }

    private PrintStream out() {
        PrintStream p = target.get();
        return p != null ? p : terminal;
    }

    @Override
    public void write(int b) {
        out().write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out().write(b, off, len);
    }

    @Override
    public void flush() {
        out().flush();
    }
}
