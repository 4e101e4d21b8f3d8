package dev.graft.loaders.internal;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.loaders.LoadLimitException;

/**
 * A tensor found in a file and already checked against it (its bytes exist), whose values are read only
 * when {@link #load} is called: inspecting a file never reads its data. Loading first checks what the tensor
 * will take on the heap ({@link #heapBytes()}) against the caller's budget, and verifies the stored bytes against
 * their recorded SHA-256 where the file has one ({@link #sha256()}).
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

    /** Bytes of Java heap {@link #load} takes: the widened values plus any stored span read whole to gather a view. */
    public long heapBytes() {
        return (long) shape.numel() * type.target().bytes() + spanBytesHeld();
    }

    /** Stored bytes held at once while reading (a strided view's whole span; 0 when read in bounded chunks). */
    protected long spanBytesHeld() {
        return 0;
    }

    /** The SHA-256 (lowercase hex) recorded for the stored bytes, or null when the file records none. */
    public String sha256() {
        return null;
    }

    /**
     * Hashes the stored bytes in bounded chunks (no values are made) and compares them with {@link #sha256()}.
     * @return false when no digest is recorded, true when it matches
     * @throws dev.graft.loaders.IntegrityException when it does not
     */
    public boolean verify() {
        return false;
    }

    /**
     * Reads and converts the values (the source must still be open), after checking {@link #heapBytes()} against
     * {@code maxBytes}.
     */
    public final HostTensor load(long maxBytes) {
        long need = heapBytes();
        if (need > maxBytes) {
            throw new LoadLimitException("tensor '" + name + "' (" + type.torchName() + " " + shape + ")", need, maxBytes);
        }
        return read();
    }

    /**
     * As {@link #load} but without checking the recorded digest: for a caller that has the digests checked
     * separately ({@link #verify()}, e.g. on another thread) and waits for that check before using the values.
     */
    public final HostTensor loadUnchecked(long maxBytes) {
        long need = heapBytes();
        if (need > maxBytes) {
            throw new LoadLimitException("tensor '" + name + "' (" + type.torchName() + " " + shape + ")", need, maxBytes);
        }
        return readUnchecked();
    }

    /** Reads and converts the values. */
    protected abstract HostTensor read();

    /** Reads and converts the values without hashing them (the default: as {@link #read}, for formats with no digest). */
    protected HostTensor readUnchecked() {
        return read();
    }
}
