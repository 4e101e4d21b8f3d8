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

    /** An existing regular file; {@code option} names it in messages ("" for a positional parameter). */
    static Path input(String option, Path file) {
        String lead = option.isEmpty() ? "" : option + ": ";
        if (Files.isDirectory(file)) {
            throw new GraftException(lead + file + " is a folder, not a file");
        }
        if (!Files.isRegularFile(file)) {
            throw new GraftException(lead + "no such file: " + file);
        }
        if (!Files.isReadable(file)) {
            throw new GraftException(lead + "cannot read " + file + " (permission denied)");
        }
        return file;
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
