package dev.graft.loaders.internal.pth;

import dev.graft.engine.Shape;
import dev.graft.loaders.internal.ContiguousTensor;
import dev.graft.loaders.internal.ElementType;
import dev.graft.loaders.internal.Gather;
import dev.graft.loaders.internal.Shapes;
import dev.graft.loaders.internal.Source;
import dev.graft.loaders.internal.StoredTensor;
import dev.graft.loaders.internal.StridedTensor;
import java.util.Map;

/**
 * Checks a {@link TensorRef} against the storage bytes the file really has, then reads it on demand: a row-major
 * view in bounded chunks, any other view by gathering the span of storage elements it touches. Sizes, strides
 * and offsets come from the pickle and are checked here before use: no negative value, no 64-bit overflow, every
 * element inside the storage, and the storage inside its record.
 */
public final class TensorResolver {
    /**
     * Views may repeat storage elements (stride 0 from {@code expand}, overlapping strides); such a tensor is
     * larger than the bytes behind it, so its size is capped here instead of by the file: 2^24 elements (64 MiB
     * of float32). A view that repeats nothing is bounded by the file and has no cap.
     */
    static final long MAX_REPEATED_VIEW_ELEMENTS = 1L << 24;

    private final Source source;
    private final Map<String, StorageData> storages;

    public TensorResolver(Source source, Map<String, StorageData> storages) {
        this.source = source;
        this.storages = storages;
    }

    public StoredTensor resolve(String name, TensorRef t) {
        StorageRef s = t.storage();
        String what = "tensor '" + name + "'";
        StorageData data = storages.get(s.key());
        if (data == null) {
            throw source.error(t.at(), what + " refers to storage '" + s.key() + "', which the file does not contain");
        }
        ElementType type = s.type();
        long rootBytes = Shapes.bytes(source, t.at(), s.numel(), type.bytes(), "storage '" + s.key() + "'");
        if (s.numel() < 0 || rootBytes > data.length()) {
            throw source.error(data.offset(), "storage '" + s.key() + "' claims " + s.numel() + " " + type.torchName()
                    + " elements (" + rootBytes + " bytes) but holds " + data.length() + " bytes");
        }
        if (s.base() < 0 || s.length() < 0 || s.base() > s.numel() || s.length() > s.numel() - s.base()) {
            throw source.error(t.at(), what + ": storage view [" + s.base() + ", +" + s.length() + ") lies outside its "
                    + s.numel() + "-element storage");
        }
        Shape shape = Shapes.of(source, t.at(), t.size(), what);
        long[] stride = t.stride();
        long offset = t.offset();
        long first = 0;
        long last = -1;
        if (shape.numel() > 0) {
            if (offset < 0) {
                throw source.error(t.at(), what + " has a negative storage offset " + offset);
            }
            long max = offset;
            for (int i = 0; i < stride.length; i++) {
                if (stride[i] < 0) {
                    throw source.error(t.at(), what + " has a negative stride " + stride[i]);
                }
                max = addMul(max, t.size()[i] - 1, stride[i], what, t.at());
            }
            if (max >= s.length()) {
                throw source.error(t.at(), what + " (offset " + offset + ", size " + shape + ", stride "
                        + java.util.Arrays.toString(stride) + ") reaches element " + max + " of a " + s.length()
                        + "-element storage");
            }
            first = offset;
            last = max;
            if (shape.numel() > last - first + 1 && shape.numel() > MAX_REPEATED_VIEW_ELEMENTS) {
                throw source.error(t.at(), what + " repeats storage elements (stride 0 or overlapping) and would expand "
                        + (last - first + 1) + " stored elements to " + shape.numel() + "; at most "
                        + MAX_REPEATED_VIEW_ELEMENTS + " are allowed");
            }
        }
        long spanStart = data.offset() + (s.base() + first) * type.bytes();
        long spanBytes = (last - first + 1) * type.bytes();
        if (Gather.isContiguous(shape, stride)) {
            return new ContiguousTensor(source, name, type, shape, spanStart, data.order(), null);
        }
        return new StridedTensor(source, name, type, shape, spanStart, spanBytes, data.order(), stride);
    }

    private long addMul(long acc, long a, long b, String what, long at) {
        try {
            return Math.addExact(acc, Math.multiplyExact(a, b));
        } catch (ArithmeticException e) {
            throw source.error(at, what + " has sizes and strides whose extent overflows 64 bits");
        }
    }
}
