package dev.graft.loaders.images;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.spi.IIORegistry;

/**
 * Keeps ImageIO's default registry to the JDK's own codecs. TwelveMonkeys' {@code imageio-jpeg} is on the class path
 * for lossless JPEG inside DICOM only ({@link DicomJpeg}, which makes its reader in a private registry), but its jars
 * declare ImageIO plugins (a JPEG reader and writer, file and stream input providers) that ImageIO registers from the
 * class path and orders ahead of the JDK's. Left there, they would decode every ordinary JPEG (CMYK handling, damage
 * reports) and open every file ImageIO reads; removing them here, before Graft decodes anything, keeps those paths
 * exactly as without the library.
 */
final class JdkImageIo {
    private static final String PREFIX = "com.twelvemonkeys.";

    private JdkImageIo() {
    }

    /** Removes every TwelveMonkeys provider from ImageIO's default registry; idempotent. Run by {@link ImageDecoder}'s static init. */
    static synchronized void removeTwelveMonkeysPlugins() {
        IIORegistry registry = IIORegistry.getDefaultInstance();
        for (Iterator<Class<?>> categories = registry.getCategories(); categories.hasNext(); ) {
            Class<?> category = categories.next();
            remove(registry, category);
        }
    }

    private static <T> void remove(IIORegistry registry, Class<T> category) {
        List<T> found = new ArrayList<>();
        for (Iterator<T> it = registry.getServiceProviders(category, false); it.hasNext(); ) {
            T p = it.next();
            if (p.getClass().getName().startsWith(PREFIX)) {
                found.add(p);
            }
        }
        for (T p : found) {
            registry.deregisterServiceProvider(p, category);
        }
    }
}
