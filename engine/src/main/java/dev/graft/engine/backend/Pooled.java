package dev.graft.engine.backend;

import dev.graft.engine.NDArray;

/**
 * Max-pool output plus what the backend needs for the backward pass (oneDNN's workspace, argmax indices);
 * {@code workspace} is owned by the current scope like any buffer and may be null.
 */
public record Pooled(NDArray output, Buffer workspace) {
}
