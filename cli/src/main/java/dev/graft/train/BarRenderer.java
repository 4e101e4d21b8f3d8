package dev.graft.train;

import me.tongfei.progressbar.ProgressBarRenderer;
import me.tongfei.progressbar.ProgressState;

import java.time.Duration;
import java.util.Locale;

/**
 * One line of a progress bar, padded to the width it is given so that a shorter redraw leaves no characters of the
 * longer one behind: {@code validate  62% [=====>     ] 100/160 img  0:00:03<0:00:02  31 img/s  loss 0.4100}.
 * The rate and the time left read "?" until some work has been timed (as tqdm shows them), never ".0".
 */
final class BarRenderer implements ProgressBarRenderer {
    /** Below this the bar itself is left out and the figures kept. */
    private static final int MIN_BAR = 10;
    /** The first half second measures start-up (threads, the first batch's allocations), not a rate; a finished bar has one. */
    private static final double MIN_SECONDS = 0.5;

    private final String unit;
    private volatile int lastWidth;

    BarRenderer(String unit) {
        this.unit = unit;
    }

    /** The width of the last line drawn (0 before the first). */
    int lastWidth() {
        return lastWidth;
    }

    @Override
    public String render(ProgressState s, int maxLength) {
        long current = s.getCurrent();
        long max = s.getMax();
        double seconds = s.getElapsedAfterStart().toNanos() / 1e9;
        boolean timed = seconds > 0 && current > s.getStart() && (seconds >= MIN_SECONDS || current >= max);
        double rate = timed ? (current - s.getStart()) / seconds : Double.NaN;
        String eta = current >= max ? Progress.clock(Duration.ZERO)
                : Double.isNaN(rate) ? "?" : Progress.clock(Duration.ofSeconds((long) Math.ceil((max - current) / rate)));
        int pct = max <= 0 ? 100 : (int) Math.min(100, Math.floor(100.0 * current / max));
        String left = String.format(Locale.ROOT, "%s %3d%% ", s.getTaskName(), pct);
        String extra = s.getExtraMessage();
        String right = String.format(Locale.ROOT, " %d/%d%s  %s<%s  %s%s/s%s", current, max, unit, Progress.clock(s.getTotalElapsed()),
                eta, Progress.rate(rate), unit, extra == null || extra.isEmpty() ? "" : "  " + extra);
        int width = maxLength - left.length() - right.length() - 2;
        StringBuilder b = new StringBuilder(left);
        if (width >= MIN_BAR) {
            int done = max <= 0 ? width : (int) Math.min(width, width * current / max);
            b.append('[').append("=".repeat(done));
            if (done < width) {
                b.append('>').append(" ".repeat(width - done - 1));
            }
            b.append(']');
        }
        b.append(right);
        while (b.length() < maxLength) {
            b.append(' ');
        }
        lastWidth = b.length();
        return b.toString();
    }
}
