package dev.graft.loaders.images;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Uncompressed DICOM pixel data (PS3.5 section 8) of the first frame, read one row at a time so a large image is never
 * held whole: each stored sample is its low {@code BitsStored} bits below {@code HighBit + 1}, two's complement when
 * Pixel Representation is 1 (the bits above are undefined by the standard and ignored). Rows and columns are kept
 * every f-th from the centre of each block, as {@link ImageDecoder} subsamples; the full range of a grayscale image
 * without a window is taken over every pixel, kept or not.
 */
final class DicomPixels {
    private DicomPixels() {
    }

    static FloatImage decode(DicomStream in, DicomHeader h, Path file, Transform next, ImageDecoder.Options options,
                             Consumer<String> warnings) throws IOException {
        if (in.length == DicomStream.UNDEFINED) {
            throw new DicomStream.DicomFormatException("its uncompressed pixel data declares an undefined length");
        }
        int w = h.columns;
        int ht = h.rows;
        int f = ImageDecoder.subsampling(w, ht, next == null ? 0 : next.inputSideNeeded());
        int offset = (f - 1) / 2;
        int dw = (w - offset + f - 1) / f;
        int dh = (ht - offset + f - 1) / f;
        int channels = h.samplesPerPixel;
        int bytes = h.bitsAllocated / 8;
        boolean planar = channels == 3 && h.planarConfiguration == 1;
        int planes = planar ? channels : 1;
        int perPixel = planar ? 1 : channels;
        int shift = h.highBit + 1 - h.bitsStored;
        int mask = (int) ((1L << h.bitsStored) - 1);
        int sign = h.pixelRepresentation == 1 ? 1 << (h.bitsStored - 1) : 0;
        boolean little = in.littleEndian;

        if ((long) dw * dh * 3 > Integer.MAX_VALUE - 8) {
            throw new DatasetException("image " + file + " (" + w + " x " + ht + ") is too large to decode into memory at once; "
                    + "downscale it or lower the pixel limit");
        }
        int plane = dh * dw;
        int[] kept = new int[channels * plane];
        int[] keptRows = new int[channels]; // kept rows fully read, per channel: the rest is black when lenient
        byte[] row = new byte[w * perPixel * bytes];
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        long left = in.length;
        String damage = null;
        reading:
        for (int p = 0; p < planes; p++) {
            for (int y = 0; y < ht; y++) {
                int n = in.readFully(row, (int) Math.min(row.length, left));
                left -= n;
                if (n < row.length) {
                    damage = "its pixel data ends in row " + (y + 1) + " of " + ht + (planar ? " of colour plane " + (p + 1) : "");
                    break reading;
                }
                boolean keepRow = y >= offset && (y - offset) % f == 0;
                int base = (y - offset) / f * dw;
                for (int x = 0, i = 0; x < w; x++) {
                    boolean keep = keepRow && x >= offset && (x - offset) % f == 0;
                    for (int s = 0; s < perPixel; s++, i += bytes) {
                        int raw = bytes == 1 ? row[i] & 0xff
                                : little ? (row[i] & 0xff) | (row[i + 1] & 0xff) << 8 : (row[i] & 0xff) << 8 | (row[i + 1] & 0xff);
                        int v = raw >>> shift & mask;
                        if ((v & sign) != 0) {
                            v -= mask + 1;
                        }
                        min = Math.min(min, v);
                        max = Math.max(max, v);
                        if (keep) {
                            kept[(planar ? p : s) * plane + base + (x - offset) / f] = v;
                        }
                    }
                }
                if (keepRow) {
                    for (int c = planar ? p : 0; c < (planar ? p + 1 : channels); c++) {
                        keptRows[c]++;
                    }
                }
            }
        }
        if (damage != null) {
            String what = "image " + file + " is truncated or damaged (" + damage + ")";
            if (!options.lenient() || keptRows[0] == 0) {
                throw new DatasetException(what + "; --lenient uses the part that decodes");
            }
            warnings.accept(what + "; using the part that decoded, the rest is black");
        }

        FloatImage out = FloatImage.blank(3, dh, dw);
        float[] d = out.data();
        if (channels == 1) {
            toUnit(h.grayscale(file, warnings), kept, min, max, d, plane);
        } else {
            float top = (float) mask;
            for (int i = 0; i < d.length; i++) {
                d[i] = kept[i] / top;
            }
        }
        for (int c = 0; c < 3; c++) {
            int done = keptRows[channels == 1 ? 0 : c] * dw;
            Arrays.fill(d, c * plane + Math.min(done, plane), (c + 1) * plane, 0f);
        }
        return out;
    }

    /** Maps {@code plane} stored grayscale values, whose extremes are {@code min} and {@code max}, into all three channels of {@code d}. */
    static void toUnit(DicomGrayscale g, int[] stored, int min, int max, float[] d, int plane) {
        double a = g.modality(min);
        double b = g.modality(max); // a negative slope swaps the ends
        double lo = Math.min(a, b);
        double hi = Math.max(a, b);
        for (int i = 0; i < plane; i++) {
            float v = (float) g.toUnit(stored[i], lo, hi);
            d[i] = v;
            d[plane + i] = v;
            d[2 * plane + i] = v;
        }
    }
}
