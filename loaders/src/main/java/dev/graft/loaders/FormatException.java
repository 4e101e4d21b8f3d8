package dev.graft.loaders;

import dev.graft.engine.GraftException;

/**
 * A file's content is not what its format allows: the message names the file, the byte offset where the
 * problem was found (when one is meaningful) and the reason. Nothing in a bad file surfaces as any other
 * runtime exception. {@link IntegrityException} is the kind for data that does not match its recorded digest.
 */
public class FormatException extends GraftException {
    private final String file;
    private final long offset;

    public FormatException(String file, long offset, String reason) {
        super(file + (offset >= 0 ? " at byte " + offset : "") + ": " + reason);
        this.file = file;
        this.offset = offset;
    }

    public FormatException(String file, String reason) {
        this(file, -1, reason);
    }

    /** The file (or stream) name the error is about. */
    public String file() {
        return file;
    }

    /** Byte offset of the problem in the file, or -1 where none is meaningful. */
    public long offset() {
        return offset;
    }
}
