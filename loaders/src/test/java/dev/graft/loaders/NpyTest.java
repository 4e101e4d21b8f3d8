package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** .npy files written by numpy (arange(n) reshaped, so expectations are computed here) and by our writer. */
class NpyTest {
    @TempDir
    Path dir;

    private static double[] arange(int n, double scale, double shift) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = i * scale + shift;
        }
        return d;
    }

    private static float[] floats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    private static long[] longs(double[] d) {
        long[] l = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            l[i] = (long) d[i];
        }
        return l;
    }

    @Test
    void readsNumpyFiles() {
        assertEquals(HostTensor.of(floats(arange(6, 1, 0)), Shape.of(2, 3)), Npy.read(Fixtures.path("f4.npy")));
        assertEquals(HostTensor.of(arange(6, 1, 0), Shape.of(3, 2)), Npy.read(Fixtures.path("f8_be.npy")));
        assertEquals(HostTensor.of(longs(arange(5, 1, -2)), Shape.of(5)), Npy.read(Fixtures.path("i8.npy")));
        HostTensor i4 = Npy.read(Fixtures.path("i4_be.npy"));
        assertEquals(HostTensor.of(longs(arange(4, 1, -1)), Shape.of(2, 2)), i4);
        assertEquals("int32", i4.sourceType());
        assertEquals(HostTensor.of(longs(arange(4, 60, 0)), Shape.of(4)), Npy.read(Fixtures.path("u1.npy")));
        HostTensor f2 = Npy.read(Fixtures.path("f2.npy"));
        assertEquals(HostTensor.of(floats(arange(3, 0.25, 0)), Shape.of(3)), f2);
        assertEquals("float16", f2.sourceType());
        assertEquals(HostTensor.of(new double[] {2.5}, Shape.scalar()), Npy.read(Fixtures.path("scalar_f8.npy")));
        assertEquals(HostTensor.of(floats(arange(6, 1, 0)), Shape.of(2, 3)), Npy.read(Fixtures.path("v2_f4.npy")));
        assertEquals(HostTensor.of(floats(arange(6, 1, 0)), Shape.of(2, 3)), Npy.read(Fixtures.path("v3_f4.npy")));
    }

    @Test
    void fortranOrderIsGatheredToRowMajor() {
        assertEquals(HostTensor.of(floats(arange(24, 1, 0)), Shape.of(2, 3, 4)), Npy.read(Fixtures.path("fortran_f4.npy")));
    }

    @Test
    void writesWhatNumpyWrites() throws IOException {
        Path f = dir.resolve("a.npy");
        HostTensor t = HostTensor.of(floats(arange(6, 1, 0)), Shape.of(2, 3));
        Npy.write(f, t);
        // numpy 1.24's np.save of the same array, byte for byte
        assertArrayEquals(Fixtures.bytes("f4.npy"), Files.readAllBytes(f));
        for (HostTensor x : new HostTensor[] {HostTensor.of(arange(3, -1.5, 1), Shape.of(3)),
            HostTensor.of(new long[] {Long.MIN_VALUE, 7}, Shape.of(2, 1)), HostTensor.of(new double[] {4}, Shape.scalar()),
            HostTensor.of(new float[0], Shape.of(0, 5))}) {
            Npy.write(f, x);
            assertEquals(x, Npy.read(f));
            assertEquals(0, (Files.size(f) - (long) x.shape().numel() * x.dtype().bytes()) % 64, "data starts 64-byte aligned");
        }
        String header = new String(Files.readAllBytes(f), 10, 60, StandardCharsets.ISO_8859_1);
        assertTrue(header.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }"), header);
    }

    @Test
    void unsupportedDtypeIsNamed() {
        byte[] b = Fixtures.bytes("f4.npy");
        byte[] c = b.clone();
        String s = new String(c, StandardCharsets.ISO_8859_1).replace("'<f4'", "'<c8'");
        FormatException e = assertThrows(FormatException.class,
                () -> StateDicts.load(s.getBytes(StandardCharsets.ISO_8859_1), "x.npy", LoadOptions.defaults()));
        assertTrue(e.getMessage().contains("'<c8' is not supported"), e.getMessage());
    }

    /** A version-1.0 .npy file with this header dict (padded as NumPy pads) and {@code dataBytes} zero bytes. */
    static byte[] npy(String dict, int dataBytes) {
        int total = (10 + dict.length() + 1 + 63) / 64 * 64;
        String header = dict + " ".repeat(total - 10 - dict.length() - 1) + "\n";
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(total + dataBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.ISO_8859_1));
        return b.array();
    }

    private static String error(String shape, int dataBytes) {
        byte[] f = npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", dataBytes);
        return assertThrows(FormatException.class, () -> StateDicts.load(f, "x.npy", LoadOptions.defaults())).getMessage();
    }

    @Test
    void sizesInTheHeaderAreRangeChecked() {
        // 19 digits overflowed Long.parseLong (NumberFormatException) before
        assertTrue(error("(9999999999999999999,)", 4).contains("shape dimension 9999999999999999999 has more than 18 digits"));
        assertTrue(error("(3, 123456789012345678901234567890)", 4).contains("shape dimension 123456789012345678901234... has more"));
        assertTrue(error("(999999999999999999,)", 4).contains("has a size outside [0, 2^31)"));
        assertTrue(error("(65536, 65536)", 4).contains("at most 2^31 - 9 elements"));
        assertTrue(error("(-1,)", 4).contains("shape must hold non-negative integers"));
        assertTrue(error("(1x,)", 4).contains("expected ',' or ')' in shape"));
        assertTrue(error("(2,)", 4).contains("npy data (<f4 [2]) needs 8 bytes"));
        String rank65 = "(" + "1, ".repeat(65) + ")";
        assertTrue(error(rank65, 4).contains("shape has more than 64 dimensions"));
        assertEquals(64, StateDicts.load(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (" + "1, ".repeat(64) + "), }", 4),
                "x.npy", LoadOptions.defaults()).stateDict().get("x").shape().rank());
        // version 2 with a 3 GB header length: refused before reading it
        byte[] v2 = new byte[64];
        System.arraycopy(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0, (byte) 0xC0}, 0, v2, 0, 12);
        assertTrue(assertThrows(FormatException.class, () -> StateDicts.load(v2, "x.npy", LoadOptions.defaults())).getMessage()
                .contains("npy header length 3221225472 is more than the 1048576 bytes Graft reads"));
    }

    @Test
    void theWriterRefusesWhatTheReaderWould() {
        Path f = dir.resolve("r.npy");
        HostTensor ok = HostTensor.of(new float[] {2}, SafeTensorsTest.ones(64));
        Npy.write(f, ok);
        assertEquals(ok, Npy.read(f));
        HostTensor tooMany = HostTensor.of(new float[] {2}, SafeTensorsTest.ones(65));
        assertTrue(assertThrows(dev.graft.engine.GraftException.class, () -> Npy.write(dir.resolve("s.npy"), tooMany)).getMessage()
                .contains("it has 65 dimensions and Graft reads at most 64"));
        assertFalse(Files.exists(dir.resolve("s.npy")));
    }
}
