package dev.graft.loaders.images;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Decodes PNG, JPEG and BMP with ImageIO into 3-channel RGB in [0, 1]. Grayscale (8 or 16 bits per sample)
 * is replicated to three channels, keeping 16-bit precision; alpha is dropped; palettes are expanded.
 */
public final class ImageDecoder {
    static {
        System.setProperty("java.awt.headless", "true");
        ImageIO.setUseCache(false);
    }

    private ImageDecoder() {
    }

    /** Reads one file; an unreadable or corrupt image is a {@link DatasetException} naming the file and the reason. */
    public static FloatImage read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new DatasetException("cannot read image " + file + ": no such file");
        }
        BufferedImage img;
        try (InputStream in = Files.newInputStream(file)) {
            img = ImageIO.read(in);
        } catch (IOException | RuntimeException e) {
            throw new DatasetException("cannot decode image " + file + ": " + reason(e), e);
        }
        if (img == null) {
            throw new DatasetException("cannot decode image " + file + ": not a PNG, JPEG or BMP file ImageIO can read");
        }
        return toRgb(img);
    }

    /** Converts a decoded image to 3-channel float RGB in [0, 1]. */
    public static FloatImage toRgb(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        Raster r = img.getRaster();
        int bands = r.getNumBands();
        boolean gray = img.getColorModel().getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
                && img.getColorModel().getNumColorComponents() == 1;
        FloatImage out = FloatImage.blank(3, h, w);
        float[] d = out.data();
        int plane = h * w;
        if (gray && (r.getTransferType() == DataBuffer.TYPE_BYTE || r.getTransferType() == DataBuffer.TYPE_USHORT)) {
            int bits = img.getColorModel().getComponentSize(0);
            float max = (float) ((1L << bits) - 1);
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                r.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    float v = row[x] / max;
                    int i = y * w + x;
                    d[i] = v;
                    d[plane + i] = v;
                    d[2 * plane + i] = v;
                }
            }
            return out;
        }
        if (bands < 1) {
            throw new DatasetException("image has no colour bands");
        }
        int[] argb = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, argb, 0, w);
            for (int x = 0; x < w; x++) {
                int p = argb[x];
                int i = y * w + x;
                d[i] = ((p >> 16) & 0xff) / 255f;
                d[plane + i] = ((p >> 8) & 0xff) / 255f;
                d[2 * plane + i] = (p & 0xff) / 255f;
            }
        }
        return out;
    }

    private static String reason(Exception e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
