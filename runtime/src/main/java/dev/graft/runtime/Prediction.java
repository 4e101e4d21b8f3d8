package dev.graft.runtime;

import java.util.List;

/**
 * One image's result: the predicted class (name and index), the softmax probability of every class (in the
 * order of {@link #classes()}; softmax(logits / T) when the model file has a temperature, {@link ModelInfo#temperature()})
 * and the raw logits (before any temperature). {@link #probability()} is the probability of the predicted
 * class. Arrays are copied in and out, so a prediction is immutable.
 */
public record Prediction(String label, int index, float[] probabilities, float[] logits, List<String> classes) {

    public Prediction {
        probabilities = probabilities.clone();
        logits = logits.clone();
        classes = List.copyOf(classes);
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
                && p.classes.equals(classes);
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
