package dev.graft.engine.functions;

import dev.graft.engine.NDArray;

/** Shared by the primitives that fuse a relu after their output. */
final class ReluGradients {
    private ReluGradients() {
    }

    /**
     * Frees {@code masked}, the relu-masked copy of {@code g} a fused backward made and has finished with, unless it
     * is g's storage or became the input gradient {@code result} (written in place).
     */
    static void free(NDArray masked, NDArray g, NDArray result) {
        if (masked.buffer() != g.buffer() && (result == null || result.buffer() != masked.buffer())) {
            masked.buffer().close();
        }
    }
}
