package dev.graft.cli;

import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageCache;
import dev.graft.train.OptionException;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Where {@code graft train} (and, when asked, {@code graft evaluate}) keep decoded images between epochs and runs:
 * {@link ImageCache}. The default folder is {@code $XDG_CACHE_HOME/graft/images}, else {@code ~/.cache/graft/images}.
 */
final class CacheOptions {
    @Option(names = "--cache", paramLabel = "MODE", description = "Decoded images, kept at the working resolution (shorter side "
            + "as the resize or crop needs it) so later epochs decode nothing: auto (train's default: in memory while it fits "
            + "--cache-memory, the rest on disk in --cache-dir), memory (only memory; images beyond it are decoded every epoch), "
            + "disk (only --cache-dir, reused by later runs), off (decode every image every epoch; evaluate's default).")
    String mode;
    @Option(names = "--cache-dir", paramLabel = "DIR", description = "Folder for cached images on disk (default "
            + "$XDG_CACHE_HOME/graft/images, else ~/.cache/graft/images); entries are keyed by file path, size and modification "
            + "time, so a changed image is decoded again. Delete the folder to reclaim the space.")
    Path dir;
    @Option(names = "--cache-memory", paramLabel = "SIZE", description = "The in-memory cache's budget: 512m, 2g, or a share of the "
            + "Java heap such as 40%% (default 40%%; GRAFT_JAVA_OPTS=-Xmx... sets the heap).")
    String memory;

    /** The folder entries go to when {@code --cache-dir} is not given. */
    static Path defaultDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("graft").resolve("images");
    }

    /** The options as given, or {@code fallback} for the mode; checked, so an error comes before any work. */
    ImageCache.Mode mode(ImageCache.Mode fallback) {
        if (mode == null) {
            return fallback;
        }
        try {
            return ImageCache.Mode.parse(mode);
        } catch (DatasetException e) {
            throw new OptionException("--cache " + mode + ": use auto, memory, disk or off");
        }
    }

    /** The cache these options describe (null for off), after checking every value. */
    ImageCache create(ImageCache.Mode fallback, Consumer<String> warnings) {
        ImageCache.Mode m = mode(fallback);
        long budget;
        try {
            budget = memory == null ? ImageCache.defaultMemoryBudget() : ImageCache.parseBudget(memory);
        } catch (DatasetException e) {
            throw new OptionException("--cache-memory " + memory + ": " + e.getMessage());
        }
        if (dir != null && (m == ImageCache.Mode.OFF || m == ImageCache.Mode.MEMORY)) {
            warnings.accept("--cache-dir " + dir + " is not used: --cache " + m.name().toLowerCase(java.util.Locale.ROOT)
                    + " writes nothing to disk (auto and disk do)");
        }
        if (m == ImageCache.Mode.OFF) {
            return null;
        }
        return new ImageCache(m, budget, m == ImageCache.Mode.MEMORY ? null : dir != null ? dir : defaultDir(), warnings);
    }

    /** What the cache did, for the line after training; "" without a cache. */
    static String summary(ImageCache cache) {
        if (cache == null) {
            return "";
        }
        ImageCache.Stats s = cache.stats();
        return String.format(java.util.Locale.ROOT, "image cache: %,d image reads decoded, %,d served from memory (%,d images, %,d MiB), "
                + "%,d from disk (%,d entries written)", s.decodes(), s.memoryHits(), s.memoryEntries(), s.memoryBytes() >> 20,
                s.diskHits(), s.diskWrites());
    }
}
