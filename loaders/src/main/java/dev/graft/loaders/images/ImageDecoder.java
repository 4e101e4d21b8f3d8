package dev.graft.loaders.images;

import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Decodes PNG, JPEG and BMP with ImageIO into 3-channel RGB in [0, 1]. Grayscale (8 or 16 bits per sample)
 * is replicated to three channels, keeping 16-bit precision; alpha is dropped; palettes are expanded; CMYK and
 * YCCK JPEGs are converted ({@link CmykJpeg}). DICOM files (named .dcm, or marked "DICM" after the preamble) go to
 * {@link DicomDecoder}, under the same limits.
 *
 * <p>Before any pixel is decoded, the header's width and height are checked: both at least 1 and their product at
 * most {@link Options#maxPixels()}, so a file declaring 30000 x 30000 is a clear error rather than an out-of-memory
 * error or an overflowing array size. An image larger than the next transform needs is decoded with source
 * subsampling (every f-th pixel of every f-th row, never fewer than {@link #DETAIL_MARGIN} times the transform's
 * {@link Transform#inputSideNeeded()} on the shorter side), so a 3000 x 2500 radiograph going to a 256-pixel resize
 * is materialised at 1000 x 834, not in full.
 *
 * <p>A file that ends early or holds damaged data (ImageIO's warnings, or an exception after some rows decoded) is
 * an error by default; with {@link Options#lenient()} it is used as far as it decoded, with a warning naming it.
 */
public final class ImageDecoder {
    /**
     * 100 megapixels: ten times a large radiograph (a 43 x 43 cm detector at 100 um is 4300 x 4300, 18.5 MP). Decoded
     * whole, such an image takes 1.2 GB as floats plus up to 0.8 GB as a raster: on a 24 GiB machine, room for several
     * decoding threads at once. The pipelines subsample it down to a few megabytes anyway.
     */
    public static final long DEFAULT_MAX_PIXELS = 100_000_000L;
    /** {@code -Dgraft.image.maxPixels=N} replaces {@link #DEFAULT_MAX_PIXELS} wherever no option sets the limit. */
    public static final String MAX_PIXELS_PROPERTY = "graft.image.maxPixels";
    /** Subsampling keeps at least this many decoded pixels per pixel of the working resolution, so the resize still averages. */
    public static final int DETAIL_MARGIN = 2;
    /** The most elements one Java array reliably holds. */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    static {
        System.setProperty("java.awt.headless", "true");
        ImageIO.setUseCache(false);
        // Before any decoding: ordinary PNG/JPEG/BMP keep the JDK's codecs (TwelveMonkeys is for DICOM lossless only).
        JdkImageIo.removeTwelveMonkeysPlugins();
    }

    /**
     * How images are read: {@code maxPixels} caps width x height as the header declares it; {@code lenient} uses a
     * truncated or damaged file as far as it decodes (with a warning) instead of refusing it.
     */
    public record Options(long maxPixels, boolean lenient) {
        public Options {
            if (maxPixels < 1) {
                throw new DatasetException("the image pixel limit (--max-image-pixels) must be at least 1, got " + maxPixels);
            }
        }

        /** The limit from {@code -Dgraft.image.maxPixels}, else {@link #DEFAULT_MAX_PIXELS}; not lenient. */
        public static Options defaults() {
            String p = System.getProperty(MAX_PIXELS_PROPERTY);
            if (p == null || p.isBlank()) {
                return new Options(DEFAULT_MAX_PIXELS, false);
            }
            try {
                return new Options(Long.parseLong(p.trim().replace("_", "")), false);
            } catch (NumberFormatException e) {
                throw new DatasetException("the system property " + MAX_PIXELS_PROPERTY + " must be a whole number of pixels, got '" + p + "'");
            }
        }

        /** {@code maxPixels} when given, else this limit. */
        public Options withMaxPixels(Long pixels) {
            return pixels == null ? this : new Options(pixels, lenient);
        }

        public Options withLenient(boolean on) {
            return new Options(maxPixels, on);
        }
    }

    private ImageDecoder() {
    }

    /** Reads one file at full resolution with the default options. */
    public static FloatImage read(Path file) {
        return read(file, null, Options.defaults(), w -> { });
    }

    /**
     * Reads one file for {@code next} (null: at full resolution): the header is checked against the options and
     * {@link Transform#checkInput}, then the pixels are decoded, subsampled as far as {@code next} allows. Every
     * failure is a {@link DatasetException} naming the file and what to do; {@code warnings} receives what lenient
     * reading let through.
     */
    public static FloatImage read(Path file, Transform next, Options options, Consumer<String> warnings) {
        if (!Files.isRegularFile(file)) {
            // A folder or a device exists: "no such file" would send the user looking for a typo.
            throw new DatasetException("cannot read image " + file + ": " + (Files.isDirectory(file)
                    ? "it is a folder, not an image file"
                    : Files.exists(file) ? "not a regular file" : "no such file"));
        }
        if (DicomDecoder.isDicom(file)) {
            return DicomDecoder.read(file, next, options, warnings);
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                throw new DatasetException("cannot read image " + file + ": ImageIO cannot open it");
            }
            return decode(in, file, next, options, warnings, "not a PNG, JPEG or BMP file ImageIO can read");
        } catch (IOException | RuntimeException e) {
            if (e instanceof DatasetException d) {
                throw d;
            }
            throw new DatasetException("cannot decode image " + file + ": " + reason(e), e);
        } catch (OutOfMemoryError e) {
            throw new DatasetException("not enough memory to decode image " + file + ": give Java more (-Xmx), decode on fewer "
                    + "threads (--workers) or lower the pixel limit (--max-image-pixels)", e);
        }
    }

    /** The image ImageIO finds in {@code in} (the first reader that claims it), or {@code notImage} as the error. */
    private static FloatImage decode(ImageInputStream in, Path file, Transform next, Options options, Consumer<String> warnings,
                                     String notImage) throws IOException {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        if (!readers.hasNext()) {
            throw new DatasetException("cannot decode image " + file + ": " + notImage);
        }
        ImageReader reader = readers.next();
        try {
            return decode(reader, in, file, next, options, warnings);
        } finally {
            reader.dispose();
        }
    }

    /** An image stream inside another file (a DICOM file's JPEG pixel data), decoded as {@link #read} decodes a file. */
    static FloatImage readEmbedded(byte[] stream, Path file, Transform next, Options options, Consumer<String> warnings)
            throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(stream))) {
            return decode(in, file, next, options, warnings, "its pixel data is not a JPEG stream ImageIO can read");
        } catch (DatasetException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new DatasetException("cannot decode image " + file + ": " + reason(e), e);
        }
    }

    private static FloatImage decode(ImageReader reader, ImageInputStream in, Path file, Transform next, Options options,
                                     Consumer<String> warnings) throws IOException {
        boolean jpeg = "jpeg".equalsIgnoreCase(reader.getFormatName());
        // Metadata stays unread (no text chunks inflated) except for JPEG, whose Adobe marker says how CMYK is stored.
        reader.setInput(in, true, !jpeg);
        int w = reader.getWidth(0);
        int h = reader.getHeight(0);
        checkSize(file, w, h, options.maxPixels());
        if (next != null) {
            try {
                next.checkInput(h, w);
            } catch (DatasetException e) {
                throw new DatasetException("cannot use image " + file + ": " + e.getMessage(), e);
            }
        }
        int f = subsampling(w, h, next == null ? 0 : next.inputSideNeeded());
        int offset = (f - 1) / 2; // the sample nearest the centre of each f x f block
        int dw = (w - offset + f - 1) / f;
        int dh = (h - offset + f - 1) / f;
        if ((long) dw * dh * 4 > MAX_ARRAY) {
            throw new DatasetException("image " + file + " (" + w + " x " + h + ") is too large to decode into memory at once; "
                    + "downscale it or lower the pixel limit");
        }
        ImageReadParam param = reader.getDefaultReadParam();
        if (f > 1) {
            param.setSourceSubsampling(f, f, offset, offset);
        }
        CmykJpeg.Layout cmyk = jpeg ? CmykJpeg.layout(reader) : null;
        ReadDamage damage = ReadDamage.watch(reader); // after the header: only what goes wrong in the pixel data counts
        FloatImage image = cmyk != null ? CmykJpeg.toRgb(reader.readRaster(0, param), cmyk, file)
                : toRgb(readInto(destination(reader, file, dw, dh), reader, param, damage));
        if (damage.any()) {
            String what = "image " + file + " is truncated or damaged (" + damage + ")";
            if (!options.lenient()) {
                throw new DatasetException(what + "; --lenient uses the part that decodes");
            }
            warnings.accept(what + "; using the part that decoded" + (damage.readFailed() ? ", the rest is black" : ""));
        }
        return image;
    }

    /** Decodes into {@code dest}, which keeps the rows decoded before a failure: usable when lenient, if there are any. */
    private static BufferedImage readInto(BufferedImage dest, ImageReader reader, ImageReadParam param, ReadDamage damage)
            throws IOException {
        param.setDestination(dest);
        try {
            reader.read(0, param);
        } catch (IOException | RuntimeException e) {
            if (!damage.progressed()) {
                throw e;
            }
            damage.failed(reason(e));
        }
        return dest;
    }

    /** Both sides at least 1, the product within {@code maxPixels}; in long arithmetic, so nothing overflows. */
    static void checkSize(Path file, int w, int h, long maxPixels) {
        if (w < 1 || h < 1) {
            throw new DatasetException("image " + file + " declares a size of " + w + " x " + h + " pixels; the file is damaged");
        }
        long pixels = (long) w * h;
        if (pixels > maxPixels) {
            throw new DatasetException(String.format(Locale.ROOT, "image %s is %d x %d pixels (%.1f megapixels), over the limit of "
                    + "%d pixels (%.1f megapixels); downscale it, or raise the limit with --max-image-pixels %d (or -D%s=%d)",
                    file, w, h, pixels / 1e6, maxPixels, maxPixels / 1e6, pixels, MAX_PIXELS_PROPERTY, pixels));
        }
    }

    /** The largest step f that keeps the shorter side at least {@link #DETAIL_MARGIN} x {@code sideNeeded}; 1 when 0 is needed. */
    static int subsampling(int w, int h, int sideNeeded) {
        if (sideNeeded <= 0) {
            return 1;
        }
        return (int) Math.max(1, Math.min(w, h) / ((long) DETAIL_MARGIN * sideNeeded));
    }

    /** The reader's own first choice of pixel layout, allocated here so it keeps what decoded when a read fails. */
    private static BufferedImage destination(ImageReader reader, Path file, int w, int h) throws IOException {
        Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
        if (types == null || !types.hasNext()) {
            throw new DatasetException("cannot decode image " + file + ": ImageIO has no pixel layout for its colour type");
        }
        return types.next().createBufferedImage(w, h);
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

    /** ImageIO's message and its cause's, without exception class names where there is a message. */
    static String reason(Throwable e) {
        String m = e instanceof EOFException ? "unexpected end of file" : e.getMessage();
        if (m == null || m.isBlank()) {
            m = "malformed data (" + e.getClass().getSimpleName() + ")";
        }
        Throwable cause = e.getCause();
        if (e instanceof IIOException && cause != null && cause != e) {
            m += ": " + reason(cause);
        }
        return m;
    }
}
