package dev.graft.loaders.images;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The image files a command line names ({@code graft predict}, {@code graft explain}, the runtime's {@code Main}): a
 * file stands for itself, whatever its name; a folder stands for every .png, .jpg, .jpeg, .bmp or .dcm file under it, at
 * any depth ({@link ImageFolder#isImage}), sorted by path (byte order, as {@code LC_ALL=C sort}). Arguments keep
 * their order. Other files in a folder are skipped. Symbolic links to files are followed, links to folders are not
 * (as {@link Files#walk}).
 *
 * <p>What cannot give an image is an entry with a problem, in its place: a path that does not exist, a folder with
 * no images, a sub-folder that cannot be listed. Callers report those with the images' own failures, so one bad
 * argument never stops the others.
 */
public final class ImageInputs {
    /** What {@link ImageFolder#isImage} accepts, for messages. */
    public static final String EXTENSIONS = ".png, .jpg, .jpeg, .bmp, .dcm";

    /**
     * One image to read ({@code problem} null), or what kept an argument from giving one ({@code file} is then the
     * argument or the sub-folder concerned).
     *
     * @param folder the folder argument the file was found under, or null when it was given as a file
     */
    public record Entry(Path file, Path folder, String problem) {
        public boolean ok() {
            return problem == null;
        }
    }

    private ImageInputs() {
    }

    /** The entries of {@code arguments}, in order. */
    public static List<Entry> expand(List<Path> arguments) {
        return expand(arguments, null);
    }

    /** As {@link #expand(List)}, never descending into {@code skip} (an output folder inside an input one; may be null). */
    public static List<Entry> expand(List<Path> arguments, Path skip) {
        Path skipAbs = skip == null ? null : skip.toAbsolutePath().normalize();
        List<Entry> out = new ArrayList<>();
        for (Path arg : arguments) {
            if (Files.isDirectory(arg)) {
                out.addAll(folder(arg, skipAbs));
            } else if (Files.notExists(arg) && !Files.isSymbolicLink(arg)) {
                out.add(new Entry(arg, null, "no such file or folder: " + arg));
            } else {
                out.add(new Entry(arg, null, null)); // the reader says what is wrong with it, if anything
            }
        }
        return out;
    }

    /** The images under {@code dir} and the sub-folders that could not be listed, sorted by path together. */
    private static List<Entry> folder(Path dir, Path skipAbs) {
        List<Entry> found = new ArrayList<>();
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                    return skipAbs != null && d.toAbsolutePath().normalize().equals(skipAbs)
                            ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                    // attrs describe a link itself; a link to an image file counts, as Files.isRegularFile follows it.
                    if (ImageFolder.isImage(f) && (attrs.isRegularFile() || Files.isRegularFile(f))) {
                        found.add(new Entry(f, dir, null));
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path f, IOException e) {
                    found.add(new Entry(f, dir, "cannot list folder " + f + ": " + reason(e)));
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            return List.of(new Entry(dir, dir, "cannot list folder " + dir + ": " + reason(e)));
        }
        if (found.isEmpty()) {
            return List.of(new Entry(dir, dir, "no images (" + EXTENSIONS + ") in folder " + dir + " or its sub-folders"));
        }
        found.sort(Comparator.comparing(Entry::file));
        return found;
    }

    private static String reason(IOException e) {
        return e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                : e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
