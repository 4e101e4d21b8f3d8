package dev.graft.loaders.internal;

import dev.graft.engine.GraftException;
import dev.graft.loaders.FormatException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Random access to a file's bytes (or an in-memory copy, for tests). Every read is checked against the
 * size first, so a length claimed by a header can never allocate more than the file holds.
 */
public final class Source implements Closeable {
    private final String name;
    private final FileChannel channel;
    private final byte[] bytes;
    private final long size;

    private Source(String name, FileChannel channel, byte[] bytes, long size) {
        this.name = name;
        this.channel = channel;
        this.bytes = bytes;
        this.size = size;
    }

    public static Source open(Path file) {
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
            return new Source(file.toString(), ch, null, ch.size());
        } catch (IOException e) {
            throw new GraftException("cannot read " + file + ": " + e, e);
        }
    }

    public static Source of(String name, byte[] bytes) {
        return new Source(name, null, bytes, bytes.length);
    }

    public String name() {
        return name;
    }

    public long size() {
        return size;
    }

    /** A typed error about this file at {@code offset} (-1: no offset). */
    public FormatException error(long offset, String reason) {
        return new FormatException(name, offset, reason);
    }

    /** Fails unless {@code [offset, offset + length)} lies inside the file. */
    public void require(long offset, long length, String what) {
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw error(offset, what + " needs " + length + " bytes at offset " + offset + " but the file has "
                    + size + " bytes (truncated or corrupt)");
        }
    }

    /** {@code length} bytes at {@code offset}, after checking they exist. */
    public byte[] read(long offset, long length, String what) {
        require(offset, length, what);
        if (length > Integer.MAX_VALUE - 8) {
            throw error(offset, what + " of " + length + " bytes is larger than one Java array can hold");
        }
        byte[] out = new byte[(int) length];
        read(offset, out, out.length, what);
        return out;
    }

    /** Fills {@code into[0, length)} with the bytes at {@code offset}, after checking they exist. */
    public void read(long offset, byte[] into, int length, String what) {
        require(offset, length, what);
        if (bytes != null) {
            System.arraycopy(bytes, (int) offset, into, 0, length);
            return;
        }
        ByteBuffer buf = ByteBuffer.wrap(into, 0, length);
        try {
            while (buf.hasRemaining()) {
                if (channel.read(buf, offset + buf.position()) < 0) {
                    throw error(offset + buf.position(), "unexpected end of file while reading " + what);
                }
            }
        } catch (IOException e) {
            throw new GraftException("cannot read " + name + ": " + e, e);
        }
    }

    @Override
    public void close() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // read-only: nothing was written that closing could lose
            }
        }
    }
}
