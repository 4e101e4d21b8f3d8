package dev.graft.engine;

/** A device is unavailable, or an op mixes devices or dtypes it cannot mix. */
public class DeviceException extends GraftException {
    public DeviceException(String message) {
        super(message);
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
    }
}
