package dev.graft.loaders.internal;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A tensor stored as one row-major run of elements: read in chunks of at most {@value #CHUNK} bytes, each
 * converted into the result, so the heap holds the widened values and one chunk, never a second copy of the
 * stored bytes.
 */
public final class ContiguousTensor extends StoredTensor {
    static final int CHUNK = 1 << 20;

    private final Source source;
    private final long start;
    private final ByteOrder order;

    public ContiguousTensor(Source source, String name, ElementType type, Shape shape, long start, ByteOrder order) {
        super(name, type, shape);
        this.source = source;
        this.start = start;
        this.order = order;
    }

    private long storedBytes() {
        return (long) shape().numel() * type().bytes();
    }

    @Override
    protected HostTensor read() {
        int n = shape().numel();
        int size = type().bytes();
        Values out = new Values(type(), n);
        byte[] chunk = new byte[(int) Math.min(CHUNK, storedBytes())];
        int perChunk = CHUNK / size;
        for (int done = 0; done < n; ) {
            int count = Math.min(perChunk, n - done);
            source.read(start + (long) done * size, chunk, count * size, "tensor '" + name() + "'");
            out.putRun(done, ByteBuffer.wrap(chunk, 0, count * size).order(order), count);
            done += count;
        }
        return out.tensor(shape());
    }
}
