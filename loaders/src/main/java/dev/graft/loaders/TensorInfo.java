package dev.graft.loaders;

import dev.graft.engine.Shape;

/** One tensor as a file stores it: name, element type in the file (PyTorch's name: "float16", ...) and shape. */
public record TensorInfo(String name, String storedType, Shape shape) {
    public long numel() {
        return shape.numel();
    }
}
