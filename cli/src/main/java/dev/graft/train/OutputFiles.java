package dev.graft.train;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Whole-file writes for reports, tables, JSON and plots: a temporary file beside the target, then an atomic rename.
 * The temporary file is created with the process's default permissions (the umask's), as the model files are:
 * {@code Files.createTempFile} would make every report {@code -rw-------}.
 */
public final class OutputFiles {
    private OutputFiles() {
    }

    /** Writes {@code bytes} to {@code file} (creating its folder); a reader sees the old file or the whole new one. */
    public static void write(Path file, byte[] bytes) throws IOException {
        write(file, out -> out.write(bytes));
    }

    /** What {@link #write(Path, Body)} writes: the file's whole content, streamed. */
    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * Writes what {@code body} streams to {@code file} (creating its folder): a temporary file beside it, then a
     * rename, without holding the content in memory first (an ONNX model is as large as its weights).
     */
    public static void write(Path file, Body body) throws IOException {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE), 1 << 16)) {
                body.writeTo(out);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Copies {@code from} to {@code to} (creating its folder) as {@link #write} writes: temporary file, then rename. */
    public static void copy(Path from, Path to) throws IOException {
        write(to, out -> {
            try (var in = Files.newInputStream(from)) {
                in.transferTo(out);
            }
        });
    }
}
