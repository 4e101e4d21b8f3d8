package dev.graft.loaders;

import dev.graft.engine.GraftException;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.loaders.internal.Contents;
import dev.graft.loaders.internal.Readers;
import dev.graft.loaders.internal.Source;
import dev.graft.loaders.internal.StoredTensor;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An open state-dict file whose tensors are read one at a time, on request: names, shapes and metadata come from
 * the headers (as {@link StateDicts#inspect}), and {@link #load} reads and converts one tensor. A caller that
 * converts and drops each tensor in turn (the inference runtime folding weights) never holds the whole state dict
 * on the Java heap; the heap budget ({@link LoadOptions#budget()}) applies to each tensor. Any format
 * {@link StateDicts} reads; bad content is a {@link FormatException}.
 */
public final class StateDictFile implements AutoCloseable {
    private final Source source;
    private final Contents contents;
    private final Map<String, StoredTensor> tensors = new LinkedHashMap<>();
    private final Map<String, Shape> shapes = new LinkedHashMap<>();
    private final long budget;

    private StateDictFile(Source source, Contents contents, long budget) {
        this.source = source;
        this.contents = contents;
        this.budget = budget;
        for (StoredTensor t : contents.tensors()) {
            if (tensors.put(t.name(), t) != null) {
                throw new FormatException(source.name(), "tensor name '" + t.name() + "' appears twice");
            }
            shapes.put(t.name(), t.shape());
        }
    }

    public static StateDictFile open(Path file) {
        return open(file, LoadOptions.defaults());
    }

    public static StateDictFile open(Path file, LoadOptions options) {
        Source src = Source.open(file);
        try {
            return new StateDictFile(src, Readers.open(src, options, StateDicts.stem(file)), options.budget());
        } catch (RuntimeException e) {
            src.close();
            throw e;
        }
    }

    public Format format() {
        return contents.format();
    }

    /** Names and shapes in file order. */
    public Map<String, Shape> shapes() {
        return Collections.unmodifiableMap(shapes);
    }

    /** The string metadata (safetensors {@code __metadata__}; empty for other formats). */
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(contents.metadata());
    }

    /** Whether the file records a SHA-256 per tensor, which {@link #load} checks. */
    public boolean recordsDigests() {
        return contents.recordsDigests();
    }

    /**
     * Reads tensor {@code name} now (widened to F32, F64 or I64 as {@link StateDicts#read} does), refusing with a
     * {@link LoadLimitException} one that alone exceeds the budget, and checking its recorded digest if any
     * ({@link IntegrityException}).
     */
    public HostTensor load(String name) {
        StoredTensor t = tensors.get(name);
        if (t == null) {
            throw new GraftException(source.name() + " has no tensor '" + name + "'");
        }
        return t.load(budget);
    }

    @Override
    public void close() {
        source.close();
    }
}
