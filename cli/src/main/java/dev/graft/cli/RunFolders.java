package dev.graft.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Set;

/**
 * The run folder {@code graft train} makes without {@code --out}: {@code runs/<data set>-<yyyyMMdd-HHmmss>}, so
 * two runs never share a folder. The data set is named by its folder, and by its parent too where the folder has a
 * split's name (chest_xray/train gives "chest_xray-train", not "train" for every data set).
 */
final class RunFolders {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT);
    private static final Set<String> SPLIT_NAMES = Set.of("train", "training", "trn", "data", "images", "img", "all");

    private RunFolders() {
    }

    static Path defaultFor(Path data, LocalDateTime now) {
        return defaultFor(Path.of("runs"), data, now);
    }

    /** Under {@code root}; "-2", "-3", ... when a run started in the same second already took the name. */
    static Path defaultFor(Path root, Path data, LocalDateTime now) {
        String base = dataSetName(data) + "-" + STAMP.format(now);
        Path dir = root.resolve(base);
        for (int i = 2; Files.exists(dir); i++) {
            dir = root.resolve(base + "-" + i);
        }
        return dir;
    }

    static String dataSetName(Path data) {
        Path abs = data.toAbsolutePath().normalize();
        Path name = abs.getFileName();
        if (name == null) {
            return "data";
        }
        String n = safe(name.toString());
        Path parent = abs.getParent();
        if (SPLIT_NAMES.contains(n.toLowerCase(Locale.ROOT)) && parent != null && parent.getFileName() != null) {
            return safe(parent.getFileName().toString()) + "-" + n;
        }
        return n;
    }

    /** Letters, digits, '.', '_' and '-' kept; anything else (spaces, control characters) becomes '_'. */
    private static String safe(String s) {
        String out = s.replaceAll("[^\\p{L}\\p{N}._-]", "_");
        return out.isEmpty() || out.startsWith(".") ? "data" + out : out;
    }
}
