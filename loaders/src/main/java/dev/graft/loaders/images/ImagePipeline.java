package dev.graft.loaders.images;

import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * Image files to network inputs: {@link ImageDecoder} reads each file for the transform (header checks first,
 * subsampled to what the transform needs), then the transform runs. Training, evaluation, {@code graft predict} and
 * the runtime's classifier all read images through this, so they see the same pixels. Every failure is a
 * {@link DatasetException} that names the file. With an {@link ImageCache} the decoded image (at the transform's
 * working resolution) comes from the cache after the first read, and only the transform runs again.
 */
public final class ImagePipeline {
    private final Transform transform;
    private final ImageDecoder.Options options;
    private final Consumer<String> warnings;
    private final ImageCache cache;

    public ImagePipeline(Transform transform, ImageDecoder.Options options, Consumer<String> warnings) {
        this(transform, options, warnings, null);
    }

    /** {@code cache} null: every load decodes the file. */
    public ImagePipeline(Transform transform, ImageDecoder.Options options, Consumer<String> warnings, ImageCache cache) {
        this.transform = transform;
        this.options = options;
        this.warnings = warnings;
        this.cache = cache;
    }

    /** Decodes {@code file} and applies the transform, drawing only from {@code rng} (null for a deterministic transform). */
    public FloatImage load(Path file, RandomGenerator rng) {
        FloatImage decoded = cache != null ? cache.get(file, transform, options, warnings)
                : ImageDecoder.read(file, transform, options, warnings);
        try {
            return transform.apply(decoded, rng);
        } catch (DatasetException e) {
            throw new DatasetException("cannot use image " + file + ": " + e.getMessage(), e);
        }
    }
}
