package dev.graft.loaders;

import dev.graft.engine.GraftException;

/**
 * A load would take more of the Java heap than {@link LoadLimits} allows; raised before anything is allocated.
 * The file may be fine: the message says what it would cost, what is allowed and how to raise the limit.
 */
public final class LoadLimitException extends GraftException {
    private final long neededBytes;
    private final long allowedBytes;

    public LoadLimitException(String what, long neededBytes, long allowedBytes) {
        super(what + " would take " + String.format(java.util.Locale.ROOT, "%,d", neededBytes) + " bytes ("
                + LoadLimits.size(neededBytes) + ") of Java heap after widening to float32/float64/int64, more than the "
                + String.format(java.util.Locale.ROOT, "%,d", allowedBytes) + " bytes (" + LoadLimits.size(allowedBytes)
                + ") a load may take (" + LoadLimits.describeMaxBytes() + "); " + LoadLimits.howToRaise());
        this.neededBytes = neededBytes;
        this.allowedBytes = allowedBytes;
    }

    public long neededBytes() {
        return neededBytes;
    }

    public long allowedBytes() {
        return allowedBytes;
    }
}
