package dev.graft.train;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.time.Duration;
import java.util.Locale;

/**
 * A progress bar over images with images/s and ETA on stderr, or nothing when progress display is off. One bar is
 * shown at a time: its owner closes it (try-with-resources) before printing the line that sums up its work, and
 * {@link #close()} returns only after the bar's final state and its newline are written. Bars are for terminals
 * only: {@link #wanted(boolean)} is false when stdout or stderr is a pipe or a file, so CI logs and {@code | tee}
 * get the plain lines (one per phase and epoch) and no carriage returns.
 */
public final class Progress implements AutoCloseable {
    /** The bar on the screen now, if any (one at a time); guarded by Progress.class. */
    private static Progress shown;

    private final ProgressBar bar;
    private final BarRenderer renderer;
    private boolean closed;

    private Progress(ProgressBar bar, BarRenderer renderer) {
        this.bar = bar;
        this.renderer = renderer;
    }

    /** Whether to show bars: not asked off ({@code --no-progress}) and both stdout and stderr are terminals. */
    public static boolean wanted(boolean noProgress) {
        return !noProgress && Terminals.interactive();
    }

    public static Progress start(String task, long images, boolean enabled) {
        if (!enabled) {
            return new Progress(null, null);
        }
        BarRenderer renderer = new BarRenderer(" img");
        ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(images).setUnit(" img", 1)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).continuousUpdate()
                .setRenderer(renderer).setConsumer(new EndsOnce(System.err)).build();
        Progress p = new Progress(bar, renderer);
        synchronized (Progress.class) {
            shown = p;
        }
        return p;
    }

    /**
     * Prints one line on stderr (a warning while images load, say) without gluing it to a bar: while one is drawn,
     * the line overwrites it, blanks the rest of its width and ends, and the bar is drawn again below it at its
     * next update (every half second), as tqdm's write does.
     */
    public static void printLine(String line) {
        synchronized (Progress.class) {
            if (shown == null) {
                System.err.println(line);
                return;
            }
            int width = shown.renderer.lastWidth();
            System.err.print("\r" + line + " ".repeat(Math.max(0, width - line.length())) + System.lineSeparator());
            System.err.flush();
        }
    }

    /**
     * Ends the bar's line once. ProgressBar.close() cancels the periodic redraw without waiting for a redraw already
     * under way, and that redraw, seeing the bar killed, also draws the final state and ends the line: the bar then
     * showed its end twice, on two lines. Everything after the first end is dropped.
     */
    private static final class EndsOnce extends ConsoleProgressBarConsumer {
        private boolean ended;

        EndsOnce(java.io.PrintStream out) {
            super(out);
        }

        @Override
        public synchronized void accept(String line) {
            if (!ended) {
                super.accept(line);
            }
        }

        @Override
        public synchronized void close() {
            if (!ended) {
                ended = true;
                super.close();
            }
        }
    }

    public void step(long images) {
        if (bar != null) {
            bar.stepBy(images);
        }
    }

    public void extra(String message) {
        if (bar != null) {
            bar.setExtraMessage(message);
        }
    }

    /** Draws the final state and ends the line; a second call does nothing. */
    @Override
    public void close() {
        if (bar != null && !closed) {
            closed = true;
            bar.close();
            System.err.flush();
            synchronized (Progress.class) {
                if (shown == this) {
                    shown = null;
                }
            }
        }
    }

    /**
     * A rate for people: "?" before there is one (nothing measured yet, or no time passed), whole numbers from 10
     * ("36", "1250"), one decimal from 0.1 ("0.7", "3.4"), two significant digits below ("0.042"); never ".7" or ".0".
     */
    public static String rate(double perSecond) {
        if (!Double.isFinite(perSecond) || perSecond <= 0) {
            return "?";
        }
        if (perSecond >= 9.95) {
            return String.format(Locale.ROOT, "%.0f", perSecond);
        }
        return String.format(Locale.ROOT, perSecond >= 0.095 ? "%.1f" : "%.2g", perSecond);
    }

    /** "0:03:36": hours, minutes, seconds. */
    static String clock(Duration d) {
        long s = Math.max(0, d.getSeconds());
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
