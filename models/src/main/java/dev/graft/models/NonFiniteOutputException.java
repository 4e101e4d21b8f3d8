package dev.graft.models;

/**
 * A model's output for an image is NaN or infinite, so it has no class probabilities and no decision; the message
 * names the image and shows the logits. Thrown by {@link ClassProbabilities}.
 */
public final class NonFiniteOutputException extends ModelException {
    public NonFiniteOutputException(String message) {
        super(message);
    }
}
