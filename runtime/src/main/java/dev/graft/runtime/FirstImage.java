package dev.graft.runtime;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The first image named on {@link Main}'s command line, read on its own thread while the model's weights load: how
 * an image file is read depends only on the model's header ({@link Classifier#filePipeline}), so decoding need not
 * wait for the weights. Reading is exactly {@link Classifier#classify(Path)}'s; when it fails here, {@link #take}
 * gives nothing and the caller reads the file itself, on the usual path, which reports the same error.
 */
final class FirstImage {
    private Path file;
    private FutureTask<float[]> task;
    private volatile long started;
    private volatile long finished;
    private boolean reported;

    private FirstImage(Path file) {
        this.file = file;
    }

    /** For the image argument {@code name}: nothing is read ahead unless it names a regular file. */
    static FirstImage of(String name) {
        try {
            Path p = Path.of(name);
            return new FirstImage(Files.isRegularFile(p) ? p : null);
        } catch (InvalidPathException e) {
            return new FirstImage(null); // Main reports it where it reports every bad path
        }
    }

    /** Starts reading the file for a model described by {@code info} (once; called when the model's header is read). */
    synchronized void start(ModelInfo info) {
        if (file == null || task != null) {
            return; // nothing to read, or already read or taken
        }
        Path f = file;
        task = new FutureTask<>(() -> {
            started = System.nanoTime();
            try {
                return Classifier.filePipeline(info).load(f, null).data();
            } finally {
                finished = System.nanoTime();
            }
        });
        Thread t = new Thread(task, "graft-first-image");
        t.setDaemon(true);
        t.start();
    }

    /**
     * When the read ahead ran, in ms after {@code t0} ({@link System#nanoTime()}), once it is over and taken; after
     * that, and when nothing was read ahead, "".
     */
    synchronized String timing(long t0) {
        long s = started;
        long f = finished;
        if (s == 0 || f == 0 || task != null || reported) {
            return "";
        }
        reported = true;
        return String.format(java.util.Locale.ROOT, "; first image read on its own thread from %.0f to %.0f ms",
                (s - t0) / 1e6, (f - t0) / 1e6);
    }

    /**
     * The values read ahead when {@code candidate} is the file read ahead and reading succeeded, once; otherwise
     * null: the caller reads {@code candidate} itself.
     */
    float[] take(Path candidate) {
        FutureTask<float[]> t;
        synchronized (this) {
            if (task == null || !candidate.equals(file)) {
                return null;
            }
            t = task;
            task = null;
            file = null;
        }
        try {
            return t.get();
        } catch (ExecutionException e) {
            return null; // read again by the caller, which reports the error as for any other image
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
