package dev.graft.engine.functions;

import dev.graft.engine.NDArray;

/** The transformer kernels take row-major arrays; a channels-last activation (a conv's output) is reordered first. */
final class RowMajor {
    private RowMajor() {
    }

    static NDArray of(NDArray a) {
        return a == null ? null : a.reshape(a.shape());
    }
}
