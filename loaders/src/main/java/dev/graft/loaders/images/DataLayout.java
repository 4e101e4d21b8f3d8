package dev.graft.loaders.images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The split layout most public image sets ship in: {@code DIR/train/CLASS/*}, with {@code DIR/val/} (or {@code valid/},
 * {@code validation/}) and {@code DIR/test/} beside it (the Kaggle chest X-ray set, torchvision-style exports). The one
 * rule for train, evaluate and lr-find: a folder is a layout when every sub-folder is named like a split (case-insensitive)
 * and one of them is the training split. A folder where only some sub-folders are split names, or whose split-named
 * sub-folders have no training split, would otherwise be read as classes named "test", "train"... and is refused
 * ({@link #checkClassNames}). {@code val} and {@code test} are null when absent.
 */
public record DataLayout(Path root, Path train, Path val, Path test) {
    static final Set<String> TRAIN = Set.of("train", "training");
    static final Set<String> VAL = Set.of("val", "valid", "validation");
    static final Set<String> TEST = Set.of("test", "testing");

    /** The layout {@code dir} holds, or null when it is a plain {@code DIR/CLASS/*} folder (or not a folder). */
    public static DataLayout detect(Path dir) {
        if (!Files.isDirectory(dir)) {
            return null;
        }
        List<Path> subs = subfolders(dir);
        if (subs.isEmpty() || !subs.stream().allMatch(p -> isSplitName(name(p)))) {
            return null;
        }
        Path train = find(subs, TRAIN, dir);
        if (train == null) {
            return null;
        }
        return new DataLayout(dir, train, find(subs, VAL, dir), find(subs, TEST, dir));
    }

    /** True for train, training, val, valid, validation, test, testing in any case. */
    public static boolean isSplitName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return TRAIN.contains(n) || VAL.contains(n) || TEST.contains(n);
    }

    /**
     * Refuses class folders named like splits: {@code root}'s classes would be "test", "train", "val" and the model
     * nonsense. Called by {@link ImageFolder#scan} so every labelled folder read anywhere gets the check.
     */
    public static void checkClassNames(Path root, List<String> classes) {
        List<String> splits = classes.stream().filter(DataLayout::isSplitName).toList();
        if (splits.isEmpty()) {
            return;
        }
        if (splits.size() == classes.size()) {
            boolean hasTrain = splits.stream().anyMatch(c -> TRAIN.contains(c.toLowerCase(Locale.ROOT)));
            throw new DatasetException("the class folders of " + root + " are named like data splits " + splits + ": "
                    + (hasTrain ? "give --data " + root + " (Graft reads its train/, val/ and test/ itself) or a single split such as --data "
                            + root.resolve(splits.get(splits.size() - 1)) + " where one folder of classes is expected"
                    : "none is train/, so it is no train/val/test layout; add " + root.resolve("train") + "/CLASS/ images or pass one split "
                            + "as a folder of classes, e.g. --data " + root.resolve(splits.get(0))));
        }
        List<String> others = classes.stream().filter(c -> !isSplitName(c)).toList();
        throw new DatasetException("the sub-folders of " + root + " mix split names " + splits + " with class names " + others
                + ": a data set is either DIR/CLASS/images or DIR/{train,val,test}/CLASS/images; move the class folders into"
                + " the splits or rename " + splits);
    }

    /** One line for the terminal saying what each split is used for. */
    public String describe(boolean explicitVal, boolean explicitTest) {
        List<String> held = new ArrayList<>();
        held.add(name(train) + "/");
        if (val != null) {
            held.add(name(val) + "/");
        }
        if (test != null) {
            held.add(name(test) + "/");
        }
        String holds = held.size() == 1 ? held.get(0) : String.join(", ", held.subList(0, held.size() - 1)) + " and " + held.get(held.size() - 1);
        String selecting = explicitVal ? "selecting on --val (it overrides " + (val != null ? name(val) + "/" : "the layout") + ")"
                : val != null ? "selecting on " + name(val) + "/"
                : "selecting on a seeded stratified --val-fraction split of " + name(train) + "/ (no val/ folder)";
        String testing = explicitTest ? ", testing on --test once at the end" + (test != null ? " (it overrides " + name(test) + "/)" : "")
                : test != null ? ", testing on " + name(test) + "/ once at the end" : "; no test/ folder, so no test figures";
        return "data: " + root + " holds " + holds + ": training on " + name(train) + "/, " + selecting + testing;
    }

    private static Path find(List<Path> subs, Set<String> names, Path dir) {
        List<Path> hits = subs.stream().filter(p -> names.contains(name(p).toLowerCase(Locale.ROOT))).toList();
        if (hits.size() > 1) {
            throw new DatasetException(dir + " has several folders for one split " + hits.stream().map(DataLayout::name).toList()
                    + "; keep one of them");
        }
        return hits.isEmpty() ? null : hits.get(0);
    }

    private static List<Path> subfolders(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            // __MACOSX: the resource-fork folder a zip made on macOS unpacks beside the splits; never a split or a class.
            return s.filter(Files::isDirectory).filter(p -> !name(p).startsWith(".") && !name(p).equals("__MACOSX")).sorted().toList();
        } catch (IOException e) {
            throw new DatasetException("cannot list dataset folder " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String name(Path p) {
        return p.getFileName().toString();
    }
}
