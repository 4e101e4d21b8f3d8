package dev.graft.models;

/**
 * A decision rule cannot be built: a model file's {@code graft.threshold} or {@code graft.positive_class}, or a
 * user's {@code --threshold}, is not a valid value. The message names the source, the key, the value and the fix.
 */
public final class DecisionRuleException extends ModelException {
    public DecisionRuleException(String message) {
        super(message);
    }
}
