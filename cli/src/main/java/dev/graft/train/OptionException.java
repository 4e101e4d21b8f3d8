package dev.graft.train;

import dev.graft.engine.GraftException;

/** A command-line option has a value outside its range or set; the message names the option, the value and the rule. */
public final class OptionException extends GraftException {
    public OptionException(String message) {
        super(message);
    }
}
