package dev.graft.tests.train;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Minimal DICOM Part 10 files for end-to-end tests: explicit VR little endian, 8-bit grayscale, the window that maps
 * stored value v to v / 255 (PS3.3 C.11.2.1.2 LINEAR with center 128, width 256: (v - 127.5) / 255 + 0.5 = v / 255),
 * so a file decodes to the same floats as an 8-bit gray PNG of the same values. MONOCHROME1 files store 255 - v, which
 * the inversion brings back to v / 255.
 */
public final class DicomBytes {
    private DicomBytes() {
    }

    /** {@code gray} row-major, {@code width} per row, values 0..255. */
    public static byte[] gray8(int[] gray, int width, boolean monochrome1) {
        int height = gray.length / width;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[128]);
        out.writeBytes("DICM".getBytes(StandardCharsets.US_ASCII));
        text(out, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1\0");
        us(out, 0x0002, 1);
        text(out, 0x0004, "CS", monochrome1 ? "MONOCHROME1 " : "MONOCHROME2 ");
        us(out, 0x0010, height);
        us(out, 0x0011, width);
        us(out, 0x0100, 8);
        us(out, 0x0101, 8);
        us(out, 0x0102, 7);
        us(out, 0x0103, 0);
        text(out, 0x1050, "DS", "128 ");
        text(out, 0x1051, "DS", "256 ");
        int padded = gray.length + (gray.length & 1);
        header(out, 0x7FE0, 0x0010, "OB");
        out.writeBytes(new byte[] {0, 0});
        u16(out, padded & 0xFFFF);
        u16(out, padded >>> 16);
        for (int v : gray) {
            out.write(monochrome1 ? 255 - v : v);
        }
        if (padded > gray.length) {
            out.write(0);
        }
        return out.toByteArray();
    }

    private static void us(ByteArrayOutputStream out, int element, int value) {
        header(out, 0x0028, element, "US");
        u16(out, 2);
        u16(out, value);
    }

    private static void text(ByteArrayOutputStream out, int element, String vr, String value) {
        text(out, 0x0028, element, vr, value);
    }

    private static void text(ByteArrayOutputStream out, int group, int element, String vr, String value) {
        header(out, group, element, vr);
        u16(out, value.length());
        out.writeBytes(value.getBytes(StandardCharsets.US_ASCII));
    }

    private static void header(ByteArrayOutputStream out, int group, int element, String vr) {
        u16(out, group);
        u16(out, element);
        out.writeBytes(vr.getBytes(StandardCharsets.US_ASCII));
    }

    private static void u16(ByteArrayOutputStream out, int v) {
        out.write(v & 0xFF);
        out.write(v >>> 8 & 0xFF);
    }
}
