package dev.graft.loaders.images;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.Inflater;

/**
 * Decodes DICOM Part 10 files (128-byte preamble, "DICM", file meta group) into 3-channel RGB in [0, 1], the first
 * frame only. Pixel data may be uncompressed (explicit or implicit VR little endian, deflated explicit VR little
 * endian, explicit VR big endian), JPEG baseline or 8-bit JPEG extended, whose stream ImageIO (the JDK's reader) decodes,
 * or JPEG lossless (process 14), which {@link DicomJpeg} decodes, or RLE Lossless ({@link DicomRle}); every other transfer syntax is refused,
 * before any pixel is read, with the command that converts the file. Grayscale (MONOCHROME1/2, 8 or 16 bits allocated,
 * any bits stored, signed or not) goes through {@link DicomGrayscale}; RGB (interleaved or planar) is scaled by its
 * bit depth.
 *
 * <p>Written here rather than taken from ImageJ ({@code net.imagej:ij}, which reads uncompressed DICOM): its decoder
 * class is package-private, shares a static scratch buffer between instances (not safe on the data loader's
 * decoding threads), reads preferences from global state, applies its own display calibration rather than giving the
 * stored values, and refuses JPEG baseline; it would also add 2.6 MB to the runtime jar for a few hundred lines.
 *
 * <p>The pixel limit and {@link Transform#checkInput} are checked from the header, before any pixel data is read;
 * large images are subsampled as {@link ImageDecoder} does. Truncated pixel data is an error, or with
 * {@link ImageDecoder.Options#lenient()} the rows that arrived, with a warning.
 */
final class DicomDecoder {
    private static final byte[] MAGIC = "DICM".getBytes(StandardCharsets.US_ASCII);
    private static final int PREAMBLE = 128;
    static final String EXPLICIT_LE = "1.2.840.10008.1.2.1";
    static final String IMPLICIT_LE = "1.2.840.10008.1.2";
    static final String DEFLATED_LE = "1.2.840.10008.1.2.1.99";
    static final String EXPLICIT_BE = "1.2.840.10008.1.2.2";
    static final String JPEG_BASELINE = "1.2.840.10008.1.2.4.50";
    static final String JPEG_EXTENDED = "1.2.840.10008.1.2.4.51";
    static final String JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57";
    static final String JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70";
    static final String RLE = "1.2.840.10008.1.2.5";
    /** Names of the syntaxes users meet, for the message that refuses them (PS3.6 annex A). */
    private static final Map<String, String> SYNTAX_NAMES = Map.ofEntries(
            Map.entry("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
            Map.entry("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
            Map.entry("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])"),
            Map.entry("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
            Map.entry("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)"),
            Map.entry("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)"),
            Map.entry("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression"),
            Map.entry("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 (Lossless Only)"),
            Map.entry("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"),
            Map.entry("1.2.840.10008.1.2.5", "RLE Lossless"),
            Map.entry("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
            Map.entry("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"));

    private DicomDecoder() {
    }

    /**
     * A file named *.dcm (any case), or one holding "DICM" after a 128-byte preamble. Files named as PNG, JPEG or BMP are
     * not opened to look, so the usual images cost no extra read.
     */
    static boolean isDicom(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".dcm")) {
            return true;
        }
        if (name.endsWith(".png") || name.endsWith(".jpg") || name.endsWith(".jpeg") || name.endsWith(".bmp")) {
            return false;
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(PREAMBLE + MAGIC.length);
            return head.length == PREAMBLE + MAGIC.length && hasMagic(head);
        } catch (IOException e) {
            return false; // ImageIO's path reports the unreadable file
        }
    }

    private static boolean hasMagic(byte[] head) {
        for (int i = 0; i < MAGIC.length; i++) {
            if (head[PREAMBLE + i] != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    /** As {@link ImageDecoder#read(Path, Transform, ImageDecoder.Options, Consumer)}, for a DICOM file. */
    static FloatImage read(Path file, Transform next, ImageDecoder.Options options, Consumer<String> warnings) {
        Inflater inflater = null;
        try (InputStream raw = Files.newInputStream(file)) {
            DicomStream in = new DicomStream(raw);
            byte[] head = new byte[PREAMBLE + MAGIC.length];
            if (in.readFully(head, head.length) < head.length || !hasMagic(head)) {
                throw new DatasetException("cannot read DICOM file " + file + ": it is not a DICOM file (no \"DICM\" after the "
                        + "128-byte preamble); if it holds another image format, give it that format's extension");
            }
            String syntax = metaSyntax(in);
            checkSyntax(file, syntax);
            if (syntax.equals(DEFLATED_LE)) {
                inflater = new Inflater(true); // raw deflate, no zlib header (PS3.5 A.5)
                in = in.inflated(inflater);
            }
            in.littleEndian = !syntax.equals(EXPLICIT_BE);
            in.implicit = syntax.equals(IMPLICIT_LE);
            DicomHeader h = DicomHeader.read(in, file);
            ImageDecoder.checkSize(file, h.columns, h.rows, options.maxPixels());
            if (next != null) {
                try {
                    next.checkInput(h.rows, h.columns);
                } catch (DatasetException e) {
                    throw new DatasetException("cannot use image " + file + ": " + e.getMessage(), e);
                }
            }
            boolean lossless = syntax.equals(JPEG_LOSSLESS) || syntax.equals(JPEG_LOSSLESS_SV1);
            boolean dct = syntax.equals(JPEG_BASELINE) || syntax.equals(JPEG_EXTENDED);
            if (syntax.equals(JPEG_EXTENDED) && h.bitsStored > 8) {
                throw new DatasetException("cannot read DICOM file " + file + ": its pixel data is " + h.bitsStored + "-bit JPEG "
                        + "Extended (transfer syntax " + syntax + "), which Graft does not decode (only 8-bit JPEG Extended: "
                        + "no pure-Java 12-bit JPEG decoder is used); convert it first, e.g. 'dcmdjpeg " + file + " out.dcm' "
                        + "(DCMTK) or 'gdcmconv --raw " + file + " out.dcm' (GDCM)");
            }
            if (h.photometric.startsWith("YBR") && !dct) {
                throw new DatasetException("cannot read DICOM file " + file + ": its pixels are " + h.photometric
                        + " in transfer syntax " + syntax + ", and Graft reads YBR colour only inside baseline or 8-bit "
                        + "extended JPEG; convert it to RGB, e.g. 'gdcmconv --raw "
                        + "--photometric-interpretation RGB " + file + " out.dcm'");
            }
            if (h.frames > 1) {
                warnings.accept("DICOM file " + file + " holds " + h.frames + " frames; using the first");
            }
            if (lossless) {
                return DicomJpeg.lossless(encapsulated(in, h, file, false), h, file, next, warnings);
            }
            if (syntax.equals(RLE)) {
                return DicomJpeg.fromStored(DicomRle.decode(encapsulated(in, h, file, true), h, file), h, file, next, warnings);
            }
            return dct
                    ? jpeg(in, h, file, next, options, warnings)
                    : DicomPixels.decode(in, h, file, next, options, warnings);
        } catch (DicomStream.DicomFormatException e) {
            throw new DatasetException("cannot read DICOM file " + file + ": " + e.getMessage() + "; the file is damaged", e);
        } catch (EOFException e) {
            throw new DatasetException("cannot read DICOM file " + file + ": it ends early; the file is truncated", e);
        } catch (IOException e) {
            throw new DatasetException("cannot read DICOM file " + file + ": " + ImageDecoder.reason(e), e);
        } catch (DatasetException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DatasetException("cannot read DICOM file " + file + ": " + ImageDecoder.reason(e) + "; the file is damaged", e);
        } catch (OutOfMemoryError e) {
            throw new DatasetException("not enough memory to decode image " + file + ": give Java more (-Xmx), decode on fewer "
                    + "threads (--workers) or lower the pixel limit (--max-image-pixels)", e);
        } finally {
            if (inflater != null) {
                inflater.end();
            }
        }
    }

    /** The file meta group (always explicit VR little endian): its Transfer Syntax UID (0002,0010). */
    private static String metaSyntax(DicomStream in) throws IOException {
        String syntax = null;
        while (in.peekGroup() == 0x0002) {
            in.next();
            if (in.tag == 0x00020010) {
                syntax = in.text(in.length);
            } else {
                in.skipValue();
            }
        }
        if (syntax == null) {
            throw new DicomStream.DicomFormatException("its file meta information has no Transfer Syntax UID (0002,0010)");
        }
        return syntax;
    }

    private static void checkSyntax(Path file, String syntax) {
        if (syntax.equals(EXPLICIT_LE) || syntax.equals(IMPLICIT_LE) || syntax.equals(DEFLATED_LE) || syntax.equals(EXPLICIT_BE)
                || syntax.equals(JPEG_BASELINE) || syntax.equals(JPEG_EXTENDED) || syntax.equals(JPEG_LOSSLESS)
                || syntax.equals(JPEG_LOSSLESS_SV1) || syntax.equals(RLE)) {
            return;
        }
        String name = SYNTAX_NAMES.getOrDefault(syntax, "a transfer syntax Graft does not know");
        throw new DatasetException("cannot read DICOM file " + file + ": its pixel data is encoded as " + name + " (transfer syntax "
                + syntax + "), which Graft does not decode (it reads uncompressed little or big endian, deflated, JPEG "
                + "baseline, 8-bit JPEG extended, JPEG lossless and RLE); convert it to uncompressed pixel data first, e.g. "
                + "'gdcmconv --raw " + file + " out.dcm' (GDCM) or, "
                + "for the JPEG syntaxes, 'dcmdjpeg " + file + " out.dcm' (DCMTK)");
    }

    /** The first frame's compressed stream: its fragments of the encapsulated pixel data, joined (RLE: its one fragment). */
    private static byte[] encapsulated(DicomStream in, DicomHeader h, Path file, boolean oneFragment) throws IOException {
        if (in.length != DicomStream.UNDEFINED) {
            throw new DicomStream.DicomFormatException("compressed pixel data must be encapsulated (of undefined length), but "
                    + "declares " + in.length + " bytes");
        }
        return firstFrame(in, oneFragment ? 1 : h.frames, oneFragment, Files.size(file));
    }

    /**
     * JPEG baseline and 8-bit extended: the first frame's fragments joined and decoded by ImageIO (the JDK's reader), then
     * mapped as the uncompressed values are.
     */
    private static FloatImage jpeg(DicomStream in, DicomHeader h, Path file, Transform next, ImageDecoder.Options options,
                                   Consumer<String> warnings) throws IOException {
        byte[] stream = encapsulated(in, h, file, false);
        FloatImage image = ImageDecoder.readEmbedded(stream, file, next, options, warnings);
        if (h.samplesPerPixel != 1) {
            return image; // ImageIO has turned YBR_FULL(_422) into RGB
        }
        // ImageIO gave stored / 255 for these 8-bit samples: rounding recovers the integers exactly.
        float[] d = image.data();
        int plane = image.height() * image.width();
        int[] stored = new int[plane];
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        for (int i = 0; i < plane; i++) {
            stored[i] = Math.round(d[i] * 255);
            min = Math.min(min, stored[i]);
            max = Math.max(max, stored[i]);
        }
        DicomPixels.toUnit(h.grayscale(file, warnings), stored, min, max, d, plane);
        return image;
    }

    /**
     * The fragments of frame 1 (PS3.5 A.4): after the basic offset table item, every fragment up to the sequence end, or
     * for several frames up to the next fragment that starts a JPEG stream (FFD8). A file that ends early gives what arrived,
     * which ImageIO then reports as damaged.
     */
    private static byte[] firstFrame(DicomStream in, int frames, boolean oneFragment, long fileSize) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.next();
        if (in.tag != DicomStream.ITEM) {
            throw new DicomStream.DicomFormatException("encapsulated pixel data does not start with an offset table item");
        }
        in.skip(in.length);
        try {
            while (true) {
                in.next();
                if (in.tag == DicomStream.SEQUENCE_END) {
                    break;
                }
                // A fragment can be no longer than the file: a damaged length must not become a huge allocation.
                if (in.tag != DicomStream.ITEM || in.length == DicomStream.UNDEFINED || in.length > fileSize) {
                    throw new DicomStream.DicomFormatException("malformed fragment " + DicomStream.tagName(in.tag) + " in the pixel data");
                }
                byte[] fragment = new byte[(int) in.length];
                int n = in.readFully(fragment, fragment.length);
                boolean startsImage = n >= 2 && (fragment[0] & 0xff) == 0xFF && (fragment[1] & 0xff) == 0xD8;
                if (frames > 1 && out.size() > 0 && startsImage) {
                    break;
                }
                out.write(fragment, 0, n);
                if (n < fragment.length || oneFragment) {
                    break;
                }
            }
        } catch (EOFException e) {
            if (out.size() == 0) {
                throw e;
            }
        }
        return out.toByteArray();
    }
}
