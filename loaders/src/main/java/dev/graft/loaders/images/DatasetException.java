package dev.graft.loaders.images;

import dev.graft.engine.GraftException;

/** A dataset folder or image file cannot be used; the message names the path and what to do. */
public class DatasetException extends GraftException {
    public DatasetException(String message) {
        super(message);
    }

    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
