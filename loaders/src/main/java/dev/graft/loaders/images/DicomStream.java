package dev.graft.loaders.images;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;

/**
 * Reads DICOM data elements (PS3.5 section 7) one header at a time: tag, VR (explicit syntaxes only) and value length,
 * in either byte order. Values the decoder does not need are skipped, sequences of undefined length included (item by
 * item, down to any depth), so nothing nested is mistaken for a top-level element. Not thread-safe: one per file read.
 */
final class DicomStream {
    static final long UNDEFINED = 0xFFFFFFFFL;
    static final int ITEM = 0xFFFEE000;
    static final int ITEM_END = 0xFFFEE00D;
    static final int SEQUENCE_END = 0xFFFEE0DD;
    /** Explicit VRs whose header has two reserved bytes and a 32-bit length (PS3.5 table 7.1-1). */
    private static final Set<String> LONG_VRS = Set.of("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV");

    private final BufferedInputStream in;
    boolean littleEndian = true;
    boolean implicit;
    /** The element header last read by {@link #next()}. */
    int tag;
    String vr;
    long length;

    DicomStream(InputStream in) {
        this.in = new BufferedInputStream(in, 1 << 16);
    }

    /** The rest of this stream, inflated (the data set of the deflated syntax); the caller ends {@code inflater}. */
    DicomStream inflated(Inflater inflater) {
        DicomStream d = new DicomStream(new InflaterInputStream(in, inflater));
        d.littleEndian = littleEndian;
        d.implicit = implicit;
        return d;
    }

    /** The next element's group number without consuming it; -1 at the end of the data. */
    int peekGroup() throws IOException {
        in.mark(2);
        int a = in.read();
        int b = in.read();
        in.reset();
        if (a < 0) {
            return -1;
        }
        if (b < 0) {
            throw new EOFException();
        }
        return littleEndian ? a | b << 8 : a << 8 | b;
    }

    /** Reads an element header into {@link #tag}, {@link #vr} (null where the syntax or the item tags carry none) and {@link #length}. */
    void next() throws IOException {
        int group = u16();
        tag = group << 16 | u16();
        if (group == 0xFFFE || implicit) {
            vr = null;
            length = u32();
            return;
        }
        vr = new String(bytes(2), StandardCharsets.US_ASCII);
        if (LONG_VRS.contains(vr)) {
            skip(2);
            length = u32();
        } else {
            length = u16();
        }
    }

    /** Skips the value of the element just read, however it is encoded. */
    void skipValue() throws IOException {
        if (length != UNDEFINED) {
            skip(length);
            return;
        }
        // Undefined length: a sequence (in implicit syntaxes every one is); an explicit UN of undefined length is an
        // implicit VR little endian sequence (PS3.5 6.2.2).
        boolean was = implicit;
        implicit = implicit || "UN".equals(vr);
        try {
            skipSequence();
        } finally {
            implicit = was;
        }
    }

    private void skipSequence() throws IOException {
        while (true) {
            next();
            if (tag == SEQUENCE_END) {
                return;
            }
            if (tag != ITEM) {
                throw new DicomFormatException(String.format("expected a sequence item, found tag %s", tagName(tag)));
            }
            if (length != UNDEFINED) {
                skip(length);
                continue;
            }
            while (true) {
                next();
                if (tag == ITEM_END) {
                    break;
                }
                skipValue();
            }
        }
    }

    int u16() throws IOException {
        int a = in.read();
        int b = in.read();
        if ((a | b) < 0) {
            throw new EOFException();
        }
        return littleEndian ? a | b << 8 : a << 8 | b;
    }

    long u32() throws IOException {
        long a = u16();
        long b = u16();
        return littleEndian ? a | b << 16 : a << 16 | b;
    }

    byte[] bytes(int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
            throw new EOFException();
        }
        return b;
    }

    /** Reads exactly {@code n} bytes into {@code into}, or as many as there are: the count read. */
    int readFully(byte[] into, int n) throws IOException {
        return in.readNBytes(into, 0, n);
    }

    void skip(long n) throws IOException {
        in.skipNBytes(n);
    }

    /** A value read as text: ASCII, trailing spaces and NULs (DICOM's padding) removed. */
    String text(long len) throws IOException {
        byte[] b = value(len);
        int end = b.length;
        while (end > 0 && (b[end - 1] == ' ' || b[end - 1] == 0)) {
            end--;
        }
        return new String(b, 0, end, StandardCharsets.ISO_8859_1).trim();
    }

    /** An unsigned 16-bit value (US), the first of a multi-valued one. */
    int us(long len) throws IOException {
        byte[] b = value(len);
        if (b.length < 2) {
            throw new DicomFormatException("element " + tagName(tag) + " holds " + b.length + " bytes, not a 16-bit value");
        }
        int lo = b[0] & 0xff;
        int hi = b[1] & 0xff;
        return littleEndian ? lo | hi << 8 : lo << 8 | hi;
    }

    private byte[] value(long len) throws IOException {
        if (len == UNDEFINED || len > 1 << 16) {
            throw new DicomFormatException("element " + tagName(tag) + " declares " + (len == UNDEFINED ? "an undefined" : "a " + len + "-byte")
                    + " length, impossible for its type");
        }
        byte[] b = new byte[(int) len];
        if (in.readNBytes(b, 0, b.length) < b.length) {
            throw new EOFException();
        }
        return b;
    }

    static String tagName(int tag) {
        return String.format("(%04X,%04X)", tag >>> 16, tag & 0xFFFF);
    }

    /** A structural error in the file; the decoder adds the file's name. */
    static final class DicomFormatException extends IOException {
        DicomFormatException(String message) {
            super(message);
        }
    }
}
