package dev.graft.loaders.internal;

import dev.graft.engine.DType;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import java.nio.ByteBuffer;

/**
 * The array a load fills, of the type an {@link ElementType} widens to: float16 and bfloat16 decode to float32,
 * every integer and bool type to int64. Element bytes come in a {@link ByteBuffer} whose byte order is already set.
 */
final class Values {
    private final ElementType type;
    private final float[] f;
    private final double[] d;
    private final long[] l;

    Values(ElementType type, int n) {
        this.type = type;
        this.f = type.target() == DType.F32 ? new float[n] : null;
        this.d = type.target() == DType.F64 ? new double[n] : null;
        this.l = type.target() == DType.I64 ? new long[n] : null;
    }

    /** Element {@code i} from the element whose first byte is at {@code byteAt} of {@code raw}. */
    void put(int i, ByteBuffer raw, int byteAt) {
        switch (type) {
            case F16 -> f[i] = Gather.halfToFloat(raw.getShort(byteAt));
            case BF16 -> f[i] = Float.intBitsToFloat((raw.getShort(byteAt) & 0xFFFF) << 16);
            case F32 -> f[i] = raw.getFloat(byteAt);
            case F64 -> d[i] = raw.getDouble(byteAt);
            case I8 -> l[i] = raw.get(byteAt);
            case U8 -> l[i] = raw.get(byteAt) & 0xFF;
            case BOOL -> l[i] = raw.get(byteAt) != 0 ? 1 : 0;
            case I16 -> l[i] = raw.getShort(byteAt);
            case I32 -> l[i] = raw.getInt(byteAt);
            case I64 -> l[i] = raw.getLong(byteAt);
        }
    }

    /** Elements {@code [at, at + count)} from the first {@code count} elements of {@code raw}. */
    void putRun(int at, ByteBuffer raw, int count) {
        switch (type) {
            case F32 -> raw.asFloatBuffer().get(f, at, count);
            case F64 -> raw.asDoubleBuffer().get(d, at, count);
            case I64 -> raw.asLongBuffer().get(l, at, count);
            default -> {
                for (int i = 0; i < count; i++) {
                    put(at + i, raw, i * type.bytes());
                }
            }
        }
    }

    /** The tensor, recording the stored type when it was widened. */
    HostTensor tensor(Shape shape) {
        HostTensor t = f != null ? HostTensor.of(f, shape) : d != null ? HostTensor.of(d, shape) : HostTensor.of(l, shape);
        return type.torchName().equals(type.target().torchName()) ? t : t.withSourceType(type.torchName());
    }
}
