package dev.graft.loaders.internal;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A strided view of stored elements (a {@code .pth} view that is not row-major, a Fortran-order {@code .npy}):
 * the span of elements it touches is read whole, then gathered. That span counts toward the heap it takes.
 */
public final class StridedTensor extends StoredTensor {
    private final Source source;
    private final long spanStart;
    private final long spanBytes;
    private final ByteOrder order;
    private final long[] stride;

    /**
     * @param spanStart byte offset of the first element the view touches
     * @param spanBytes bytes from there to the end of the last element it touches
     * @param stride    strides in elements, relative to the span's first element
     */
    public StridedTensor(Source source, String name, ElementType type, Shape shape, long spanStart, long spanBytes,
                         ByteOrder order, long[] stride) {
        super(name, type, shape);
        this.source = source;
        this.spanStart = spanStart;
        this.spanBytes = spanBytes;
        this.order = order;
        this.stride = stride.clone();
    }

    @Override
    protected long spanBytesHeld() {
        return spanBytes;
    }

    @Override
    protected HostTensor read() {
        ByteBuffer raw = ByteBuffer.wrap(source.read(spanStart, spanBytes, "tensor '" + name() + "'")).order(order);
        return Gather.gather(type(), raw, 0, shape(), stride);
    }
}
