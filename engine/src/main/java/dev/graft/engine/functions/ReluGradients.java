package dev.graft.engine.functions;

import dev.graft.engine.NDArray;

/** Shared by the primitives that fuse a relu after their output. */
final class ReluGradients {
    private ReluGradients() {
    }

    /** Frees {@code masked}, the relu-masked copy of {@code g} a fused backward made and has finished with. */
    static void free(NDArray masked, NDArray g) {
        if (masked != g && masked.buffer() != g.buffer()) {
            masked.buffer().close();
        }
    }
}
