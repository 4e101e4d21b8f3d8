package dev.graft.engine.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The argument list of one kernel launch, in the form {@code cuLaunchKernel} wants: for each parameter, a host
 * address where its value lies. Values are packed into one host block, each at an 8-byte aligned offset;
 * device pointers are 64-bit values, structs are arrays of 64-bit words (every kernel struct is declared with
 * {@code long long} fields so the host needs no padding rules). The driver copies the values at launch.
 */
final class KernelArgs {
    private final ByteBuffer values = ByteBuffer.allocate(2048).order(ByteOrder.nativeOrder());
    private int[] offsets = new int[16];
    private int count;

    /** A device pointer (0 for a kernel's optional nullptr argument). */
    KernelArgs ptr(long address) {
        return i64(address);
    }

    KernelArgs i32(int v) {
        values.putInt(next(), v);
        return this;
    }

    KernelArgs i64(long v) {
        values.putLong(next(), v);
        return this;
    }

    KernelArgs f32(float v) {
        values.putFloat(next(), v);
        return this;
    }

    KernelArgs f64(double v) {
        values.putDouble(next(), v);
        return this;
    }

    /** A struct passed by value, as its 64-bit fields in declaration order. */
    KernelArgs struct(long[] words) {
        int at = next();
        for (int i = 0; i < words.length; i++) {
            values.putLong(at + 8 * i, words[i]);
        }
        values.position(at + 8 * words.length);
        return this;
    }

    private int next() {
        int at = (values.position() + 7) & ~7;
        if (count == offsets.length) {
            offsets = Arrays.copyOf(offsets, count * 2);
        }
        offsets[count++] = at;
        values.position(at + 8);
        return at;
    }

    int count() {
        return count;
    }

    int offset(int i) {
        return offsets[i];
    }

    /** The packed values, ready to copy to native memory. */
    byte[] bytes() {
        return Arrays.copyOf(values.array(), values.position());
    }
}
