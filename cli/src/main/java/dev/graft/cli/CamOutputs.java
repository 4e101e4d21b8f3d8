package dev.graft.cli;

import dev.graft.loaders.images.ImageInputs;
import dev.graft.train.OptionException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Where {@code graft explain} and {@code graft predict --cam} put their pictures: one PNG per image, named
 * {@code <image file name>.cam.png}. Images found in a folder keep their sub-folders under the output folder
 * ({@code DIR/a/x.png} -> {@code OUT/a/x.png.cam.png}); images given as files go straight into it. Two inputs that
 * would get the same name (x.png from two folders given as files) are told apart by {@code -2}, {@code -3}, ... in
 * input order, so no picture overwrites another.
 */
final class CamOutputs {
    static final String SUFFIX = ".cam.png";

    /** One image to explain and where its picture goes; {@code problem} is set (and output null) when it cannot be read. */
    record Item(Path source, Path output, String problem) {
    }

    private CamOutputs() {
    }

    /** The output folder, created if missing; an existing file there is an {@link OptionException}. */
    static Path folder(String option, Path out) {
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new OptionException(option + " " + out + " is a file, not a folder; give a folder (it is created if missing)");
        }
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new OptionException(option + " " + out + ": cannot create the folder (" + e.getMessage() + ")");
        }
        if (!Files.isWritable(out)) {
            throw new OptionException(option + " " + out + ": the folder is not writable");
        }
        return out;
    }

    /**
     * The images of {@code inputs} (files as given; folders searched recursively for .png, .jpg, .jpeg, .bmp and .dcm,
     * sorted by path, skipping anything under {@code out}) with their output paths. A folder without images, or a
     * path that does not exist, is an item with a problem.
     */
    static List<Item> plan(List<Path> inputs, Path out) {
        return items(ImageInputs.expand(inputs, out), out);
    }

    /** {@link #plan} for entries already expanded (with {@code out} skipped), one item per entry, in order. */
    static List<Item> items(List<ImageInputs.Entry> entries, Path out) {
        List<Item> items = new ArrayList<>();
        Set<Path> taken = new HashSet<>();
        for (ImageInputs.Entry e : entries) {
            Path in = e.file();
            String problem = e.problem() != null ? e.problem() : e.folder() == null ? FileChecks.problem(in) : null;
            if (problem != null) {
                items.add(new Item(in, null, problem));
            } else if (e.folder() == null) {
                items.add(new Item(in, unique(out.resolve(in.getFileName() + SUFFIX), taken), null));
            } else {
                Path target = out.resolve(e.folder().relativize(in)).resolveSibling(in.getFileName() + SUFFIX);
                items.add(new Item(in, unique(target, taken), null));
            }
        }
        return items;
    }

    private static Path unique(Path target, Set<Path> taken) {
        Path key = target.toAbsolutePath().normalize();
        if (taken.add(key)) {
            return target;
        }
        String name = target.getFileName().toString();
        String stem = name.substring(0, name.length() - SUFFIX.length());
        for (int k = 2; ; k++) {
            Path next = target.resolveSibling(stem + "-" + k + SUFFIX);
            if (taken.add(next.toAbsolutePath().normalize())) {
                return next;
            }
        }
    }
}
