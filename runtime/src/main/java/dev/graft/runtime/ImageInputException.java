package dev.graft.runtime;

import dev.graft.engine.GraftException;

/** An image cannot be classified: missing, undecodable, or too large to preprocess; the message says which. */
public final class ImageInputException extends GraftException {
    public ImageInputException(String message) {
        super(message);
    }

    public ImageInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
