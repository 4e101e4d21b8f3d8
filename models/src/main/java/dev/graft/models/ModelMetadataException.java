package dev.graft.models;

/**
 * A model file's metadata breaks a rule of {@link ModelMetadata}: the message names the file, the key, the value,
 * the rule and what to do.
 */
public final class ModelMetadataException extends ModelException {
    public ModelMetadataException(String message) {
        super(message);
    }
}
