package dev.graft.train;

import dev.graft.engine.GraftException;

/** Training cannot start or go on; the message says what, where (phase, epoch, step) and what to do. */
public class TrainingException extends GraftException {
    public TrainingException(String message) {
        super(message);
    }

    public TrainingException(String message, Throwable cause) {
        super(message, cause);
    }
}
