package dev.graft.loaders.internal;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;

/**
 * A tensor found in a file and already checked against it (its bytes exist), whose values are read only
 * when {@link #load()} is called: inspecting a file never reads its data.
 */
public abstract class StoredTensor {
    private final String name;
    private final ElementType type;
    private final Shape shape;

    protected StoredTensor(String name, ElementType type, Shape shape) {
        this.name = name;
        this.type = type;
        this.shape = shape;
    }

    public String name() {
        return name;
    }

    /** The element type in the file. */
    public ElementType type() {
        return type;
    }

    public Shape shape() {
        return shape;
    }

    /** Reads and converts the values (the source must still be open). */
    public abstract HostTensor load();
}
