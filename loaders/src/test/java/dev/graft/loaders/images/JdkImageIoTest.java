package dev.graft.loaders.images;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.ServiceLoader;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.spi.IIORegistry;
import javax.imageio.spi.ImageReaderSpi;
import javax.imageio.spi.ServiceRegistry;
import javax.imageio.stream.ImageInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TwelveMonkeys' imageio-jpeg is on the class path (for DICOM lossless JPEG) but must not take over ordinary images:
 * once {@link ImageDecoder} is loaded, ImageIO picks the JDK's JPEG reader and opens files with the JDK's streams.
 */
class JdkImageIoTest {
    @Test
    void ordinaryJpegsKeepTheJdkReader() throws Exception {
        ImageDecoder.read(DicomDecoderTest.fixture("u8_mono2.dcm")); // loads ImageDecoder (its static init) for sure
        List<String> readers = new ArrayList<>();
        for (Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName("jpeg"); it.hasNext(); ) {
            readers.add(it.next().getClass().getName());
        }
        assertEquals(List.of("com.sun.imageio.plugins.jpeg.JPEGImageReader"), readers);
        for (Iterator<ImageReader> it = ImageIO.getImageReadersBySuffix("jpg"); it.hasNext(); ) {
            assertEquals("com.sun.imageio.plugins.jpeg.JPEGImageReader", it.next().getClass().getName());
        }
        File file = Path.of(DicomDecoderTest.class.getResource("/dicom/u8_mono2.npy").toURI()).toFile();
        try (ImageInputStream in = ImageIO.createImageInputStream(file)) {
            assertTrue(in.getClass().getName().startsWith("javax.imageio.stream."), in.getClass().getName());
        }
        for (Iterator<Class<?>> c = IIORegistry.getDefaultInstance().getCategories(); c.hasNext(); ) {
            Class<?> category = c.next();
            for (Iterator<?> p = IIORegistry.getDefaultInstance().getServiceProviders(category, false); p.hasNext(); ) {
                String name = p.next().getClass().getName();
                assertTrue(!name.startsWith("com.twelvemonkeys."), name + " is still registered as " + category.getSimpleName());
            }
        }
    }

    @Test
    void withoutTheRemovalTwelveMonkeysWouldBePreferred() {
        // The check above can fail: in a registry built as ImageIO builds its own (the JDK's readers, then the class
        // path's), TwelveMonkeys' JPEG reader orders itself first. A private registry shows it without touching ImageIO's.
        ServiceRegistry fresh = new ServiceRegistry(List.<Class<?>>of(ImageReaderSpi.class).iterator());
        for (Iterator<ImageReaderSpi> it = IIORegistry.getDefaultInstance().getServiceProviders(ImageReaderSpi.class, false);
             it.hasNext(); ) {
            fresh.registerServiceProvider(it.next(), ImageReaderSpi.class);
        }
        for (ImageReaderSpi spi : ServiceLoader.load(ImageReaderSpi.class)) {
            fresh.registerServiceProvider(spi, ImageReaderSpi.class);
        }
        String first = null;
        for (Iterator<ImageReaderSpi> it = fresh.getServiceProviders(ImageReaderSpi.class, true); it.hasNext() && first == null; ) {
            ImageReaderSpi spi = it.next();
            if (List.of(spi.getFormatNames()).contains("jpeg")) {
                first = spi.getClass().getName();
            }
        }
        assertEquals("com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReaderSpi", first);
    }
}
