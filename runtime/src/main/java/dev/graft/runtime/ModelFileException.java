package dev.graft.runtime;

import dev.graft.engine.GraftException;

/**
 * A model file cannot be used by the runtime: unreadable, not a state-dict format, not a ResNet, or metadata that
 * contradicts the weights. The message names the file and the reason.
 */
public final class ModelFileException extends GraftException {
    public ModelFileException(String message) {
        super(message);
    }

    public ModelFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
