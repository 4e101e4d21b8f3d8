package dev.graft.loaders;

import dev.graft.engine.Shape;

/**
 * One tensor as a file stores it: name, element type in the file (PyTorch's name: "float16", ...), shape, and the
 * SHA-256 recorded for its bytes (64 hex digits; "" when the file records none).
 */
public record TensorInfo(String name, String storedType, Shape shape, String sha256) {
    public TensorInfo(String name, String storedType, Shape shape) {
        this(name, storedType, shape, "");
    }

    public long numel() {
        return shape.numel();
    }
}
