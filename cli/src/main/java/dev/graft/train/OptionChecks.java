package dev.graft.train;

import java.util.List;
import java.util.Locale;

/**
 * Range and set checks for command-line options, with one message shape: the option, the value given, what it means,
 * the range or the accepted values. {@link TrainConfig} holds the rules of {@code graft train} (and so of every
 * checkpoint it resumes); {@code graft predict}, {@code evaluate} and {@code bench} call the shared ones here, so a
 * batch size or a worker count means the same everywhere.
 */
public final class OptionChecks {
    /** More decoding threads than this only adds contention (and thousands cannot even be started). */
    public static final int MAX_WORKERS = 256;
    /** More epochs than this is a typo; the counters would also overflow long before. */
    public static final int MAX_EPOCHS = 10_000;

    private OptionChecks() {
    }

    /** Images per forward pass: at least 1 (there is no upper bound but memory; too large a batch is a typed shape or memory error). */
    public static int batchSize(String option, int value) {
        return between(option, value, 1, Integer.MAX_VALUE, "the number of images per batch");
    }

    /** Image decoding threads: 1 to {@value #MAX_WORKERS}. */
    public static int workers(String option, int value) {
        return between(option, value, 1, MAX_WORKERS, "the number of image decoding threads");
    }

    /** A whole number in [min, max]. */
    public static int between(String option, long value, int min, int max, String meaning) {
        if (value < min || value > max) {
            throw new OptionException(option + " " + value + " is out of range: " + meaning + " must be a whole number "
                    + (max == Integer.MAX_VALUE ? ">= " + min : "from " + min + " to " + max));
        }
        return (int) value;
    }

    /** A finite number in [min, max] (max may be infinite: no upper bound). */
    public static double between(String option, double value, double min, double max, String meaning) {
        if (!Double.isFinite(value) || value < min || value > max) {
            throw new OptionException(option + " " + value + " is out of range: " + meaning + " must be a finite number "
                    + (max == Double.POSITIVE_INFINITY ? ">= " + num(min) : "in [" + num(min) + ", " + num(max) + "]"));
        }
        return value;
    }

    /** A finite number greater than 0. */
    public static double positive(String option, double value, String meaning) {
        if (!Double.isFinite(value) || value <= 0) {
            throw new OptionException(option + " " + value + " is out of range: " + meaning + " must be a finite number > 0");
        }
        return value;
    }

    /** {@code value} (trimmed, lower case) when it is one of {@code accepted}. */
    public static String oneOf(String option, String value, List<String> accepted) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (!accepted.contains(v)) {
            throw new OptionException(option + " '" + value + "' is not one of the accepted values: " + String.join(", ", accepted));
        }
        return v;
    }

    private static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
