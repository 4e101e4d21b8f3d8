package dev.graft.models;

import dev.graft.engine.GraftException;

/** A model was asked for something it does not have or cannot do: the message names what, where and the fix. */
public class ModelException extends GraftException {
    public ModelException(String message) {
        super(message);
    }
}
