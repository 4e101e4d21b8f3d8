package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.DeviceException;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.backend.Buffer;
import org.bytedeco.javacpp.FloatPointer;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * F32 tensor storage of the cpu backend: aligned off-heap memory owned by a {@link dev.graft.engine.Scope}
 * and freed when the scope closes. Every accessor checks that the buffer is still open, so a tensor used
 * after its scope closed raises a GraftException instead of handing freed memory to oneDNN.
 */
class NativeBuffer extends Buffer {
    private final NativeMemory memory;

    /**
     * {@code numel} floats, uninitialised, registered with the current scope; a detached scope (a model's, an
     * optimizer's) holds long-lived storage, which bypasses the caching allocator's pool.
     */
    NativeBuffer(int numel) {
        this(numel, (long) numel * Float.BYTES);
    }

    /**
     * {@code numel} floats backed by a request of {@code bytes}; differs from {@code numel * 4} only in tests, which
     * ask for more than malloc can give. A failed allocation leaves the scope as it was (see {@link #abandon()}).
     */
    NativeBuffer(int numel, long bytes) {
        super(DType.F32, numel);
        Scope owner = owner();
        try {
            this.memory = new NativeMemory(bytes, owner != null && owner.isDetached());
        } catch (RuntimeException | Error e) {
            abandon();
            throw e;
        }
    }

    /** The storage of {@code a}, checked open; a typed error if it belongs to another backend. */
    static NativeBuffer of(NDArray a) {
        if (!(a.buffer() instanceof NativeBuffer b)) {
            throw new DeviceException("cpu backend was given " + a + " whose storage is not cpu memory ("
                    + a.buffer().getClass().getSimpleName() + "); move it with tensor.to(Device.CPU)");
        }
        b.checkOpen();
        return b;
    }

    FloatPointer pointer() {
        checkOpen();
        return memory.pointer();
    }

    /** Floats [start, start + count) as a FloatBuffer indexed from 0. */
    FloatBuffer floats(long start, int count) {
        checkOpen();
        return memory.floats(start, count);
    }

    /** Elements [start, start + count) read as 32-bit ints. */
    IntBuffer ints(long start, int count) {
        checkOpen();
        return memory.ints(start, count);
    }

    @Override
    protected final void free() {
        memory.close();
    }
}
