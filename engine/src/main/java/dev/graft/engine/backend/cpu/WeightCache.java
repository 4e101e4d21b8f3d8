package dev.graft.engine.backend.cpu;

import dev.graft.engine.backend.Buffer;
import org.bytedeco.dnnl.memory;
import org.bytedeco.javacpp.FloatPointer;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Convolution weights reordered from plain OIHW (goihw for groups) into the blocked layout a primitive chose,
 * kept per weight buffer and target layout. A copy is reused while the buffer's {@link Buffer#version()} is
 * unchanged (inference, frozen layers, the three passes of one step) and refreshed in place after an
 * optimizer step bumped it. Copies of buffers that have been closed are dropped whenever a new buffer
 * arrives, so the cache never outgrows the live weights.
 */
final class WeightCache implements AutoCloseable {
    private final Dnnl dnnl;
    private final Map<Buffer, List<Copy>> copies = new IdentityHashMap<>();

    /** One reordered copy: its layout, its memory and the buffer version it was made from. */
    private static final class Copy {
        final memory.desc layout;
        final NativeMemory memory;
        int version;

        Copy(memory.desc layout) {
            this.layout = layout;
            layout.retainReference();
            this.memory = new NativeMemory(layout.get_size(), true);
        }

        void close() {
            memory.close();
            layout.close();
        }
    }

    WeightCache(Dnnl dnnl) {
        this.dnnl = dnnl;
    }

    /** {@code weights} in {@code layout}, reordered by {@code reorder} (plain -> layout) when stale. */
    FloatPointer get(NativeBuffer weights, memory.desc layout, Step reorder) {
        List<Copy> list = copies.get(weights);
        if (list == null) {
            sweep();
            list = new ArrayList<>(2);
            copies.put(weights, list);
        }
        Copy copy = null;
        for (Copy c : list) {
            if (c.layout.equals(layout)) {
                copy = c;
                break;
            }
        }
        if (copy == null) {
            copy = Dnnl.build("cached weights", () -> new Copy(layout));
            copy.version = weights.version() - 1;
            list.add(copy);
        }
        if (copy.version != weights.version()) {
            reorder.run(dnnl, weights.pointer(), copy.memory.pointer());
            copy.version = weights.version();
        }
        return copy.memory.pointer();
    }

    int size() {
        return copies.values().stream().mapToInt(List::size).sum();
    }

    private void sweep() {
        for (Iterator<Map.Entry<Buffer, List<Copy>>> it = copies.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Buffer, List<Copy>> e = it.next();
            if (e.getKey().isClosed()) {
                e.getValue().forEach(Copy::close);
                it.remove();
            }
        }
    }

    @Override
    public void close() {
        copies.values().forEach(l -> l.forEach(Copy::close));
        copies.clear();
    }
}
