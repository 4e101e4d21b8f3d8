package dev.graft.models;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Temperature scaling (Guo et al. 2017): class probabilities are {@code softmax(logits / T)} with one T &gt; 0 fitted
 * on the validation set by {@code graft train --calibrate}. T &gt; 1 softens over-confident probabilities; the most
 * probable class never changes. The model file states it in {@value #META_TEMPERATURE}; the single reader, shared
 * through {@link ModelMetadata} by {@code graft predict}, {@code graft evaluate} and the runtime's
 * {@code Classifier}, so they cannot disagree. A file without the key has T = 1, the plain softmax, exactly as before.
 *
 * <p>Rule: a finite number in [{@value #MIN}, {@value #MAX}]. Outside it the probabilities are numerically all-or-
 * nothing (T = 0.01 multiplies a logit gap of 10 into 1000) or flat, which no fit on real data gives; such a value
 * is a {@link ModelMetadataException} naming the file, the key and the value.
 */
public final class Temperature {
    public static final String META_TEMPERATURE = "graft.temperature";
    public static final double MIN = 0.01;
    public static final double MAX = 100;
    /** No scaling. */
    public static final double NONE = 1.0;

    private Temperature() {
    }

    /** The temperature {@code file}'s metadata states, checked; 1 when absent. */
    public static double fromMetadata(String file, Map<String, String> meta) {
        String raw = meta.get(META_TEMPERATURE);
        if (raw == null) {
            return NONE;
        }
        String where = file + ": metadata " + META_TEMPERATURE + " = '" + (raw.length() > 80 ? raw.substring(0, 77) + "..." : raw) + "'";
        String fix = "; write a number in [" + MIN + ", " + MAX + "] (as 'graft train --calibrate' fits it), or remove the key "
                + "(then probabilities are the plain softmax, T = 1)";
        double t;
        try {
            t = Double.parseDouble(raw.trim());
        } catch (NumberFormatException e) {
            throw new ModelMetadataException(where + " is not a number" + fix);
        }
        if (!(t >= MIN && t <= MAX)) {
            throw new ModelMetadataException(where + " is outside [" + MIN + ", " + MAX + "]" + fix);
        }
        return t;
    }

    /** The metadata entry for {@code t} (none for NaN: not calibrated); {@code t} must follow the rule. */
    public static Map<String, String> toMetadata(double t) {
        Map<String, String> m = new LinkedHashMap<>();
        if (!Double.isNaN(t)) {
            if (!(t >= MIN && t <= MAX)) {
                throw new IllegalArgumentException("temperature " + t + " outside [" + MIN + ", " + MAX + "]");
            }
            m.put(META_TEMPERATURE, Double.toString(t));
        }
        return m;
    }

    /** "T = 1.734" for the terminal. */
    public static String describe(double t) {
        return String.format(Locale.ROOT, "T = %.4g", t);
    }
}
