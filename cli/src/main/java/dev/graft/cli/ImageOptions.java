package dev.graft.cli;

import dev.graft.loaders.images.ImageDecoder;
import picocli.CommandLine.Option;

/** How train, evaluate and predict read image files; the default limit lives in {@link ImageDecoder}. */
final class ImageOptions {
    @Option(names = "--max-image-pixels", paramLabel = "N", description = "Refuse an image whose header declares more than N pixels "
            + "(width x height), before decoding it (default " + ImageDecoder.DEFAULT_MAX_PIXELS + ", or -D"
            + ImageDecoder.MAX_PIXELS_PROPERTY + "=N). Images within it are decoded subsampled to at least twice the resize size.")
    Long maxImagePixels;
    @Option(names = "--lenient", description = "Use a truncated or damaged image as far as it decodes, with a warning naming it, "
            + "instead of treating it as unreadable.")
    boolean lenient;

    ImageDecoder.Options decoding() {
        return ImageDecoder.Options.defaults().withMaxPixels(maxImagePixels).withLenient(lenient);
    }
}
