package dev.graft.models.optim;

import dev.graft.engine.GraftException;

/** Bad optimizer options or a checkpointed optimizer state that does not fit the model. */
public class OptimizerException extends GraftException {
    public OptimizerException(String message) {
        super(message);
    }
}
