package dev.graft.engine.backend.cpu;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_desc_base;
import org.bytedeco.javacpp.Pointer;

/**
 * One cached oneDNN primitive, ready to run: its descriptor, the primitive, one memory object per argument
 * (created without data) and the argument map, all built once per shape. A call only rebinds each memory
 * to the caller's buffer with {@code set_data_handle} and executes, so the hot path allocates nothing native
 * (spike: a fresh argument map costs 2-3 µs, a fresh primitive up to 6 ms). The step owns its native objects
 * (retained out of the PointerScope it was built in) and frees them in {@link #close()}.
 */
final class Step implements AutoCloseable {
    final String what;
    final primitive_desc_base pd;
    private final primitive prim;
    private final memory[] mems;
    private final long[] bytes;
    private final IntMemoryMap args;

    /**
     * {@code argIds[i]} is a DNNL_ARG_* key and {@code descs[i]} its memory descriptor; {@link #run} takes the
     * data pointers in the same order. Must be called inside {@link Dnnl#build}.
     */
    Step(String what, Dnnl dnnl, primitive_desc_base pd, primitive prim, int[] argIds, memory.desc[] descs) {
        this.what = what;
        this.pd = pd;
        this.prim = prim;
        this.mems = new memory[argIds.length];
        this.bytes = new long[argIds.length];
        this.args = new IntMemoryMap();
        pd.retainReference();
        prim.retainReference();
        args.retainReference();
        for (int i = 0; i < argIds.length; i++) {
            bytes[i] = descs[i].get_size();
            mems[i] = new memory(descs[i], dnnl.engine, (Pointer) null);
            mems[i].retainReference();
            args.put(argIds[i], mems[i]);
        }
    }

    /** Binds the arguments to {@code data} (in constructor order) and runs the primitive to completion. */
    void run(Dnnl dnnl, Pointer... data) {
        for (int i = 0; i < mems.length; i++) {
            checkRoom(i, data[i]);
        }
        for (int i = 0; i < mems.length; i++) {
            mems[i].set_data_handle(data[i]);
        }
        try {
            prim.execute(dnnl.stream, args);
            dnnl.stream._wait();
        } catch (RuntimeException e) {
            throw Dnnl.executeFailed(what, e);
        }
        if (NativeMemory.GUARD_BYTES > 0) {
            NativeMemory.checkGuards("after " + what + " (" + implementation() + ")");
        }
    }

    /**
     * A primitive writes (and reads) {@code bytes[i]} bytes of argument i, which for a blocked or padded layout is more
     * than the logical tensor's; a buffer that cannot hold them would be overrun silently and corrupt the native heap.
     * Buffers of this backend carry their size (a JavaCPP limit); an argument without one is not checked.
     */
    private void checkRoom(int i, Pointer p) {
        if (p == null || p.limit() <= 0) {
            return;
        }
        long room = (p.limit() - p.position()) * p.sizeof();
        if (room < bytes[i]) {
            throw new IllegalStateException(what + ": argument " + i + " needs " + bytes[i] + " bytes, its buffer holds " + room);
        }
    }

    /** Size in bytes of argument {@code i} (e.g. a workspace the caller allocates). */
    long bytes(int i) {
        return bytes[i];
    }

    /** The kernel oneDNN picked, e.g. "brg_conv_fwd:avx512_core"; "ref" or "jit_uni_ncsp" flag a slow path. */
    String implementation() {
        return pd.impl_info_str().getString();
    }

    @Override
    public void close() {
        for (memory m : mems) {
            m.close();
        }
        args.close();
        prim.close();
        pd.close();
    }
}
