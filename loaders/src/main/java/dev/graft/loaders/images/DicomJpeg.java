package dev.graft.loaders.images;

import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;
import javax.imageio.ImageReader;
import javax.imageio.spi.IIORegistry;
import javax.imageio.spi.ImageReaderSpi;
import javax.imageio.spi.ServiceRegistry;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Lossless JPEG (process 14, transfer syntaxes 1.2.840.10008.1.2.4.57 and .70) inside DICOM, decoded by TwelveMonkeys'
 * pure-Java reader ({@code com.twelvemonkeys.imageio:imageio-jpeg}). Its reader is made here in a registry of our own,
 * holding it and the JDK's JPEG reader it delegates other processes to; ImageIO's default registry never has it
 * ({@link JdkImageIo}). The decoded samples are the stored integers (the JPEG precision's bit patterns), which are then
 * masked to Bits Stored, sign-extended for Pixel Representation 1, and mapped as uncompressed pixels are.
 */
final class DicomJpeg {
    private static final String JDK_JPEG = "com.sun.imageio.plugins.jpeg.JPEGImageReaderSpi";
    private static ImageReaderSpi provider;

    private DicomJpeg() {
    }

    private static synchronized ImageReaderSpi provider() {
        if (provider == null) {
            ImageReaderSpi jdk = null;
            for (Iterator<ImageReaderSpi> it = IIORegistry.getDefaultInstance().getServiceProviders(ImageReaderSpi.class, false);
                 it.hasNext(); ) {
                ImageReaderSpi p = it.next();
                if (p.getClass().getName().equals(JDK_JPEG)) {
                    jdk = p;
                }
            }
            ServiceRegistry own = new ServiceRegistry(List.<Class<?>>of(ImageReaderSpi.class).iterator());
            if (jdk != null) {
                own.registerServiceProvider(jdk, ImageReaderSpi.class);
            }
            // Registering it runs its onRegistration, which finds the JDK reader in this registry as its delegate.
            ImageReaderSpi lossless = new com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReaderSpi();
            own.registerServiceProvider(lossless, ImageReaderSpi.class);
            provider = lossless;
        }
        return provider;
    }

    /** Decodes the lossless JPEG {@code stream} of a frame described by {@code h} into 3-channel RGB in [0, 1]. */
    static FloatImage lossless(byte[] stream, DicomHeader h, Path file, Transform next,
                               Consumer<String> warnings) throws IOException {
        Raster r;
        ImageReader reader = provider().createReaderInstance(null);
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(stream))) {
            reader.setInput(in, true, true);
            r = reader.readRaster(0, null);
        } catch (IOException | RuntimeException e) {
            throw new DatasetException("cannot decode image " + file + ": its lossless JPEG pixel data is damaged ("
                    + ImageDecoder.reason(e) + "); convert it with 'dcmdjpeg " + file + " out.dcm' to see whether it decodes", e);
        } finally {
            reader.dispose();
        }
        int channels = h.samplesPerPixel;
        if (r.getWidth() != h.columns || r.getHeight() != h.rows || r.getNumBands() != channels) {
            throw new DatasetException("cannot decode image " + file + ": its lossless JPEG stream holds " + r.getWidth() + " x "
                    + r.getHeight() + " pixels of " + r.getNumBands() + " samples, but the DICOM header declares " + h.columns
                    + " x " + h.rows + " of " + channels + "; the file is damaged");
        }
        int[][] planes = new int[channels][];
        for (int c = 0; c < channels; c++) {
            planes[c] = r.getSamples(r.getMinX(), r.getMinY(), h.columns, h.rows, c, (int[]) null);
        }
        return fromStored(planes, h, file, next, warnings);
    }

    /**
     * Maps decoded frames ({@code planes[c]} row-major, {@code h.columns} by {@code h.rows}; the low {@code BitsStored}
     * bits of each value are the stored sample) into 3-channel RGB in [0, 1] as {@link DicomPixels} maps uncompressed
     * ones: masked to Bits Stored, sign-extended for Pixel Representation 1, subsampled, the grayscale full range taken
     * over every pixel.
     */
    static FloatImage fromStored(int[][] planes, DicomHeader h, Path file, Transform next, Consumer<String> warnings) {
        int channels = planes.length;
        int w = h.columns;
        int ht = h.rows;
        int f = ImageDecoder.subsampling(w, ht, next == null ? 0 : next.inputSideNeeded());
        int offset = (f - 1) / 2;
        int dw = (w - offset + f - 1) / f;
        int dh = (ht - offset + f - 1) / f;
        int mask = (int) ((1L << h.bitsStored) - 1);
        int sign = h.pixelRepresentation == 1 ? 1 << (h.bitsStored - 1) : 0;
        int plane = dh * dw;
        int[] kept = new int[channels * plane];
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        for (int c = 0; c < channels; c++) {
            int[] row = planes[c];
            for (int y = 0; y < ht; y++) {
                boolean keepRow = y >= offset && (y - offset) % f == 0;
                int base = c * plane + (y - offset) / f * dw;
                for (int x = 0; x < w; x++) {
                    int v = row[y * w + x] & mask;
                    if ((v & sign) != 0) {
                        v -= mask + 1;
                    }
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                    if (keepRow && x >= offset && (x - offset) % f == 0) {
                        kept[base + (x - offset) / f] = v;
                    }
                }
            }
        }
        FloatImage out = FloatImage.blank(3, dh, dw);
        float[] d = out.data();
        if (channels == 1) {
            DicomPixels.toUnit(h.grayscale(file, warnings), kept, min, max, d, plane);
        } else {
            float top = (float) mask;
            for (int i = 0; i < d.length; i++) {
                d[i] = kept[i] / top;
            }
        }
        return out;
    }
}
