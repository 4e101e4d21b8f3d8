package dev.graft.loaders.internal;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import java.nio.ByteBuffer;

/**
 * Copies a strided view of raw element bytes into a dense row-major {@link HostTensor}, widening the element
 * type as {@link ElementType#target()} says. Element {@code (i0, ..., ik)} of the view sits at element index
 * {@code offset + sum(i_j * stride_j)} of {@code raw}; offsets and strides count elements, not bytes (as in
 * PyTorch's storages). Callers have checked that every index lies inside {@code raw}.
 */
public final class Gather {
    private Gather() {
    }

    /** @param raw element bytes with their byte order already set */
    public static HostTensor gather(ElementType type, ByteBuffer raw, long offset, Shape shape, long[] stride) {
        int n = shape.numel();
        int[] size = shape.dims();
        int rank = size.length;
        int[] index = new int[rank];
        long element = offset;
        Values out = new Values(type, n);
        for (int i = 0; i < n; i++) {
            out.put(i, raw, Math.toIntExact(element * type.bytes()));
            // odometer over the view's indices, last dimension fastest (row-major output)
            for (int k = rank - 1; k >= 0; k--) {
                element += stride[k];
                if (++index[k] < size[k]) {
                    break;
                }
                element -= stride[k] * size[k];
                index[k] = 0;
            }
        }
        return out.tensor(shape);
    }

    /** Row-major strides in elements for {@code shape}. */
    public static long[] contiguousStrides(Shape shape) {
        int[] s = shape.strides();
        long[] out = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[i];
        }
        return out;
    }

    /** Whether a view with these sizes and strides is row-major contiguous (strides of size-1 dims do not matter). */
    public static boolean isContiguous(Shape shape, long[] stride) {
        int[] want = shape.strides();
        for (int i = 0; i < want.length; i++) {
            if (shape.dim(i) > 1 && stride[i] != want[i]) {
                return false;
            }
        }
        return true;
    }

    /** IEEE 754 binary16 to binary32 (exact: every half is a float). */
    static float halfToFloat(short bits) {
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));   // inf, nan
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);                              // +-0
            }
            float v = mant * 0x1p-24f;                                          // subnormal: mant * 2^-24
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13)); // rebias 15 -> 127
    }
}
