package dev.graft.cli;

import dev.graft.loaders.images.ImageFolder;
import dev.graft.train.OptionException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

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
     * The images of {@code inputs} (files as given; folders searched recursively for .png, .jpg, .jpeg and .bmp,
     * sorted by path, skipping anything under {@code out}) with their output paths. A folder without images, or a
     * path that does not exist, is an item with a problem.
     */
    static List<Item> plan(List<Path> inputs, Path out) {
        List<Item> items = new ArrayList<>();
        Set<Path> taken = new HashSet<>();
        Path outAbs = out.toAbsolutePath().normalize();
        for (Path in : inputs) {
            if (!Files.isDirectory(in)) {
                String problem = FileChecks.problem(in);
                items.add(problem != null ? new Item(in, null, problem)
                        : new Item(in, unique(out.resolve(in.getFileName() + SUFFIX), taken), null));
                continue;
            }
            List<Path> found = imagesUnder(in, outAbs);
            if (found.isEmpty()) {
                items.add(new Item(in, null, "no images (.png, .jpg, .jpeg, .bmp) in folder " + in + " or its sub-folders"));
            }
            for (Path f : found) {
                Path rel = in.relativize(f);
                Path target = out.resolve(rel).resolveSibling(f.getFileName() + SUFFIX);
                items.add(new Item(f, unique(target, taken), null));
            }
        }
        return items;
    }

    /**
     * Output paths for image files given one by one (graft predict's arguments): {@code files.get(i)}'s picture, or
     * null where the path cannot be read as a file (the caller reports that itself).
     */
    static List<Path> forFiles(List<Path> files, Path out) {
        List<Path> outputs = new ArrayList<>();
        Set<Path> taken = new HashSet<>();
        for (Path f : files) {
            outputs.add(FileChecks.problem(f) != null ? null : unique(out.resolve(f.getFileName() + SUFFIX), taken));
        }
        return outputs;
    }

    private static List<Path> imagesUnder(Path dir, Path outAbs) {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(p -> !p.toAbsolutePath().normalize().startsWith(outAbs))
                    .filter(p -> Files.isRegularFile(p) && ImageFolder.isImage(p))
                    .sorted()
                    .toList();
        } catch (IOException | UncheckedIOException e) {
            throw new OptionException("cannot list the images in folder " + dir + ": " + e.getMessage());
        }
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
