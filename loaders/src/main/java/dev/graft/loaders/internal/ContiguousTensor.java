package dev.graft.loaders.internal;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.loaders.IntegrityException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.Locale;

/**
 * A tensor stored as one row-major run of elements: read in chunks of at most {@value #CHUNK} bytes, each
 * converted into the result and hashed on the way when a digest is recorded, so the heap holds the widened
 * values and one chunk, never a second copy of the stored bytes.
 */
public final class ContiguousTensor extends StoredTensor {
    static final int CHUNK = 1 << 20;

    private final Source source;
    private final long start;
    private final ByteOrder order;
    private final String sha256;

    /** @param sha256 the recorded digest of the {@code numel * type.bytes()} stored bytes, or null */
    public ContiguousTensor(Source source, String name, ElementType type, Shape shape, long start, ByteOrder order,
                            String sha256) {
        super(name, type, shape);
        this.source = source;
        this.start = start;
        this.order = order;
        this.sha256 = sha256;
    }

    private long storedBytes() {
        return (long) shape().numel() * type().bytes();
    }

    @Override
    public String sha256() {
        return sha256;
    }

    @Override
    protected HostTensor read() {
        return read(sha256);
    }

    @Override
    protected HostTensor readUnchecked() {
        return read(null);
    }

    /** The values, hashed on the way and checked against {@code sha256} unless it is null. */
    private HostTensor read(String sha256) {
        int n = shape().numel();
        int size = type().bytes();
        Values out = new Values(type(), n);
        MessageDigest md = sha256 == null ? null : Sha256.digest();
        byte[] chunk = new byte[(int) Math.min(CHUNK, storedBytes())];
        int perChunk = CHUNK / size;
        for (int done = 0; done < n; ) {
            int count = Math.min(perChunk, n - done);
            source.read(start + (long) done * size, chunk, count * size, "tensor '" + name() + "'");
            if (md != null) {
                md.update(chunk, 0, count * size);
            }
            out.putRun(done, ByteBuffer.wrap(chunk, 0, count * size).order(order), count);
            done += count;
        }
        if (md != null) {
            check(md);
        }
        return out.tensor(shape());
    }

    @Override
    public boolean verify() {
        if (sha256 == null) {
            return false;
        }
        MessageDigest md = Sha256.digest();
        long total = storedBytes();
        byte[] chunk = new byte[(int) Math.min(CHUNK, total)];
        for (long done = 0; done < total; ) {
            int len = (int) Math.min(CHUNK, total - done);
            source.read(start + done, chunk, len, "tensor '" + name() + "'");
            md.update(chunk, 0, len);
            done += len;
        }
        check(md);
        return true;
    }

    private void check(MessageDigest md) {
        String actual = Sha256.hex(md.digest());
        if (!actual.equals(sha256)) {
            long end = start + storedBytes();
            throw new IntegrityException(source.name(), start, name(), String.format(Locale.ROOT,
                    "tensor '%s' (bytes %,d to %,d) does not match the SHA-256 recorded when the file was written"
                            + " (expected %s, found %s): the file was damaged after it was written; use an intact"
                            + " copy or write it again", name(), start, end, sha256, actual));
        }
    }
}
