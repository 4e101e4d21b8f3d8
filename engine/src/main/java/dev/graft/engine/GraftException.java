package dev.graft.engine;

/** Base of every error Graft raises on purpose: the message says what, where and what to do. */
public class GraftException extends RuntimeException {
    public GraftException(String message) {
        super(message);
    }

    public GraftException(String message, Throwable cause) {
        super(message, cause);
    }
}
