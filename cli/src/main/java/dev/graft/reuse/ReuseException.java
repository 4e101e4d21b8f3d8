package dev.graft.reuse;

import dev.graft.engine.GraftException;

/** A feature-reuse analysis that cannot run on what it was given (models of different architectures, too few images or classes). */
public final class ReuseException extends GraftException {
    public ReuseException(String message) {
        super(message);
    }
}
