package dev.graft.cli;

import dev.graft.engine.GraftException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Supplier;

/** Up-front checks of the files a command was given, so a bad path fails before any work, naming the option. */
final class FileChecks {
    private FileChecks() {
    }

    /** An existing, readable regular file; {@code option} names it in messages ("" for a positional parameter). */
    static Path input(String option, Path file) {
        String problem = problem(file);
        if (problem != null) {
            throw new GraftException((option.isEmpty() ? "" : option + ": ") + problem);
        }
        return file;
    }

    /**
     * What keeps {@code file} from being read as a file, or null: missing, a folder, something else that is not a
     * regular file (a device such as /dev/zero, a FIFO, a socket: reading one may never end), or unreadable.
     */
    static String problem(Path file) {
        if (Files.isDirectory(file)) {
            return file + " is a folder, not a file";
        }
        if (!Files.exists(file)) {
            return "no such file: " + file;
        }
        if (!Files.isRegularFile(file)) {
            return file + " is not a regular file (" + kind(file) + "); give a file";
        }
        if (!Files.isReadable(file)) {
            return "cannot read " + file + " (permission denied)";
        }
        return null;
    }

    private static String kind(Path file) {
        try {
            Object mode = Files.getAttribute(file, "unix:mode");
            int type = (Integer) mode & 0170000;
            return switch (type) {
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0010000 -> "a FIFO";
                case 0140000 -> "a socket";
                default -> "not a plain file";
            };
        } catch (java.io.IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return "a device, FIFO or socket";
        }
    }

    /** Runs a read, prefixing a failure's message (which names the file) with the option that gave the file. */
    static <T> T reading(String option, Supplier<T> read) {
        try {
            return read.get();
        } catch (GraftException e) {
            throw new GraftException(option + " " + e.getMessage(), e);
        }
    }

    /**
     * A file to be written with {@code extension}: its folder must exist; an existing file is replaced only when
     * {@code overwrite} is set.
     */
    static Path output(String option, Path file, String extension, boolean overwrite) {
        option = option.isEmpty() ? "output" : option;
        if (!file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(extension)) {
            throw new GraftException(option + " " + file + ": the name must end in " + extension);
        }
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new GraftException(option + " " + file + ": folder " + (dir == null ? "(none)" : dir) + " does not exist");
        }
        if (Files.isDirectory(file)) {
            throw new GraftException(option + " " + file + " is a folder, not a file");
        }
        if (!overwrite && Files.exists(file)) {
            throw new GraftException(option + " " + file + " already exists; pass --force to replace it");
        }
        return file;
    }
}
