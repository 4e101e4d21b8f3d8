package dev.graft.runtime;

import java.util.List;

/**
 * One image's result: the predicted class (name and index), the softmax probability of every class (in the
 * order of {@link #classes()}; softmax(logits / T) when the model file has a temperature, {@link ModelInfo#temperature()})
 * and the raw logits (before any temperature). {@link #probability()} is the probability of the predicted
 * class. Arrays are copied in and out, so a prediction is immutable.
 */
public record Prediction(String label, int index, float[] probabilities, float[] logits, List<String> classes, boolean[] positives) {

    public Prediction {
        probabilities = probabilities.clone();
        logits = logits.clone();
        classes = List.copyOf(classes);
        positives = positives == null ? null : positives.clone();
    }

    /** A single-label prediction. */
    public Prediction(String label, int index, float[] probabilities, float[] logits, List<String> classes) {
        this(label, index, probabilities, logits, classes, null);
    }

    /**
     * Whether this is a multi-label model's prediction: then {@link #probabilities()} are one sigmoid per label (they
     * need not sum to 1), {@link #positives()} says which labels are called positive at their thresholds, and
     * {@link #label()} / {@link #index()} name the most probable label.
     */
    public boolean multiLabel() {
        return positives != null;
    }

    /** Per label, positive at its threshold (multi-label models); null for a single-label prediction. */
    @Override
    public boolean[] positives() {
        return positives == null ? null : positives.clone();
    }

    /** The labels called positive, in label order (multi-label models); empty for a single-label prediction. */
    public List<String> positiveLabels() {
        List<String> out = new java.util.ArrayList<>();
        for (int i = 0; positives != null && i < positives.length; i++) {
            if (positives[i]) {
                out.add(classes.get(i));
            }
        }
        return out;
    }

    /** Probability of the predicted class. */
    public float probability() {
        return probabilities[index];
    }

    /** Probability of the class named {@code name}. */
    public float probability(String name) {
        int i = classes.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no class '" + name + "'; classes are " + classes);
        }
        return probabilities[i];
    }

    @Override
    public float[] probabilities() {
        return probabilities.clone();
    }

    @Override
    public float[] logits() {
        return logits.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Prediction p && p.index == index && p.label.equals(label)
                && java.util.Arrays.equals(p.probabilities, probabilities) && java.util.Arrays.equals(p.logits, logits)
                && p.classes.equals(classes) && java.util.Arrays.equals(p.positives, positives);
    }

    @Override
    public int hashCode() {
        return 31 * label.hashCode() + java.util.Arrays.hashCode(logits);
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s (p=%.4f)", label, probability());
    }
}
