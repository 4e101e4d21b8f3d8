package dev.graft.loaders.images;

import java.nio.file.Path;

/**
 * RLE Lossless (transfer syntax 1.2.840.10008.1.2.5, PS3.5 annex G): a frame is one fragment that starts with a
 * 64-byte header (the number of segments, then up to 15 segment offsets, little endian 32-bit) followed by the
 * segments, each one byte plane PackBits-coded: for every sample (R, G, B for colour), its most significant byte plane
 * first. A PackBits header byte n of 0..127 copies the next n + 1 bytes, -1..-127 repeats the next byte 1 - n times,
 * -128 does nothing.
 */
final class DicomRle {
    private DicomRle() {
    }

    /** The frame's samples, one row-major plane per sample, each value its Bits Allocated bits (unsigned). */
    static int[][] decode(byte[] fragment, DicomHeader h, Path file) {
        int channels = h.samplesPerPixel;
        int bytes = h.bitsAllocated / 8;
        int pixels = h.rows * h.columns;
        if (fragment.length < 64) {
            throw damaged(file, "its RLE fragment is shorter than the 64-byte RLE header");
        }
        int segments = u32(fragment, 0);
        if (segments != channels * bytes) {
            throw damaged(file, "its RLE header declares " + segments + " segments where " + channels + " samples of " + bytes
                    + " bytes need " + channels * bytes);
        }
        int[][] planes = new int[channels][pixels];
        byte[] plane = new byte[pixels];
        for (int s = 0; s < segments; s++) {
            long start = u32(fragment, 4 + 4 * s) & 0xFFFFFFFFL;
            long end = s + 1 < segments ? u32(fragment, 8 + 4 * s) & 0xFFFFFFFFL : fragment.length;
            if (start < 64 || end < start || end > fragment.length) {
                throw damaged(file, "RLE segment " + (s + 1) + " has offsets " + start + ".." + end + " outside its "
                        + fragment.length + "-byte fragment");
            }
            int n = unpack(fragment, (int) start, (int) end, plane);
            if (n < pixels) {
                throw damaged(file, "RLE segment " + (s + 1) + " decodes to " + n + " bytes where the image has " + pixels + " pixels");
            }
            int[] out = planes[s / bytes];
            int shift = 8 * (bytes - 1 - s % bytes);
            for (int i = 0; i < pixels; i++) {
                out[i] |= (plane[i] & 0xff) << shift;
            }
        }
        return planes;
    }

    /** PackBits-decodes {@code in[from..to)} into {@code out} (extra bytes past its end are dropped); the bytes written. */
    static int unpack(byte[] in, int from, int to, byte[] out) {
        int o = 0;
        int i = from;
        while (i < to && o < out.length) {
            int n = in[i++];
            if (n >= 0) {
                int count = Math.min(n + 1, Math.min(to - i, out.length - o));
                System.arraycopy(in, i, out, o, count);
                i += n + 1;
                o += count;
            } else if (n != -128) {
                if (i >= to) {
                    break;
                }
                byte b = in[i++];
                int count = Math.min(1 - n, out.length - o);
                for (int k = 0; k < count; k++) {
                    out[o++] = b;
                }
            }
        }
        return o;
    }

    private static int u32(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    private static DatasetException damaged(Path file, String what) {
        return new DatasetException("cannot read DICOM file " + file + ": " + what + "; the file is damaged");
    }
}
