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
    /** The digest check running on another thread ({@link #checkDigestsInBackground}), or null. */
    private DigestCheck background;

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
        return background != null ? t.loadUnchecked(budget) : t.load(budget);
    }

    /**
     * Checks every recorded digest on a daemon thread from now on, so that hashing (the largest cost of reading a
     * file with digests) overlaps the caller's own work. From this call on {@link #load} no longer checks digests:
     * the values it returns must not be used as the file's until {@link #awaitDigests()} has returned. Does nothing
     * when the file records no digest or a check is already running.
     */
    public synchronized void checkDigestsInBackground() {
        if (background == null && recordsDigests()) {
            background = new DigestCheck(contents.tensors(), source.name());
        }
    }

    /**
     * Waits for the check started by {@link #checkDigestsInBackground} (returns at once when none was started).
     * @throws IntegrityException the first tensor, in file order, whose bytes do not match their digest
     * @throws GraftException when the file could not be read while checking
     */
    public void awaitDigests() {
        DigestCheck check;
        synchronized (this) {
            check = background;
        }
        if (check != null) {
            check.await();
        }
    }

    @Override
    public void close() {
        DigestCheck check;
        synchronized (this) {
            check = background;
        }
        if (check != null) {
            check.cancel(); // it reads the source: stop it before closing
        }
        source.close();
    }

    /** One pass over the tensors with a recorded digest, in file order, stopping at the first failure. */
    private static final class DigestCheck implements Runnable {
        private final java.util.List<StoredTensor> tensors;
        private final Thread thread;
        private volatile boolean cancelled;
        private volatile RuntimeException failure;

        DigestCheck(java.util.List<StoredTensor> tensors, String file) {
            this.tensors = java.util.List.copyOf(tensors);
            this.thread = new Thread(this, "graft-digest-check " + file);
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void run() {
            try {
                for (StoredTensor t : tensors) {
                    if (cancelled) {
                        return;
                    }
                    t.verify(); // false (nothing to check) for a tensor with no recorded digest
                }
            } catch (RuntimeException e) {
                failure = e;
            }
        }

        void await() {
            join();
            if (cancelled) {
                throw new GraftException("the digest check of this file was cancelled: the file was closed");
            }
            RuntimeException e = failure;
            if (e != null) {
                throw e;
            }
        }

        void cancel() {
            cancelled = true;
            join();
        }

        private void join() {
            boolean interrupted = false;
            while (true) {
                try {
                    thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // keep waiting: the thread reads the file until it stops; re-raised below
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
