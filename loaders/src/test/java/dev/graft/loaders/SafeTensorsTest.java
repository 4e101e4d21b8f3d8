package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void readsHandAssembledFile() {
        StateDict sd = SafeTensors.read(Fixtures.path("hand.safetensors"));
        assertEquals(List.of("w16", "wbf", "w32", "w64", "n", "i32", "u8", "b"), List.copyOf(sd.keys()));
        assertEquals(HostTensor.of(new float[] {1.5f, -2f}, Shape.of(2)), sd.get("w16"));
        assertEquals("float16", sd.get("w16").sourceType());
        assertEquals(HostTensor.of(new float[] {1.5f, -2f}, Shape.of(2)), sd.get("wbf"));
        assertEquals("bfloat16", sd.get("wbf").sourceType());
        assertEquals(HostTensor.of(new float[] {0, 1, 2, 3}, Shape.of(2, 2)), sd.get("w32"));
        assertEquals(HostTensor.of(new double[] {0.1}, Shape.of(1)), sd.get("w64"));
        assertEquals(HostTensor.of(new long[] {-3}, Shape.scalar()), sd.get("n"));
        assertEquals(HostTensor.of(new long[] {7, -8}, Shape.of(2)), sd.get("i32"));
        assertEquals(HostTensor.of(new long[] {0, 128, 255}, Shape.of(3)), sd.get("u8"));
        assertEquals(HostTensor.of(new long[] {1, 0}, Shape.of(2)), sd.get("b"));
        assertEquals(Map.of("format", "pt", "note", "hand made"), sd.metadata());
    }

    @Test
    void roundTripsAndFollowsTheLayout() throws IOException {
        StateDict sd = new StateDict();
        sd.put("conv1.weight", HostTensor.of(new float[] {1, -2, 3.5f, Float.MIN_VALUE, Float.NaN, -0f}, Shape.of(1, 2, 3)));
        sd.put("x64", HostTensor.of(new double[] {Math.PI}, Shape.of(1)));
        sd.put("bn1.num_batches_tracked", HostTensor.of(new long[] {12}, Shape.scalar()));
        sd.put("empty", HostTensor.of(new float[0], Shape.of(0)));
        sd.metadata().put("arch", "resnet18");
        sd.metadata().put("classes", "[\"NORMAL\", \"PNEUMONIA\"]");
        Path f = dir.resolve("m.safetensors");
        StateDicts.write(f, sd);
        StateDict back = StateDicts.read(f);
        assertEquals(List.copyOf(sd.keys()), List.copyOf(back.keys()));
        sd.tensors().forEach((k, v) -> assertEquals(v, back.get(k), k));
        assertEquals(sd.metadata(), back.metadata());

        byte[] b = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8, "header padded to 8 bytes");
        String header = new String(b, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":{\"arch\":\"resnet18\""), header);
        assertTrue(header.contains("\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}"), header);
        assertTrue(header.contains("\"bn1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[32,40]}"), header);
        assertEquals(8 + n + 24 + 8 + 8, b.length);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temporary file is left behind");
        }
    }

    @Test
    void writingReplacesAtomicallyAndFailureKeepsTheOldFile() throws IOException {
        Path f = dir.resolve("m.safetensors");
        StateDict one = new StateDict().put("a", HostTensor.of(new float[] {1}, Shape.of(1)));
        SafeTensors.write(f, one);
        StateDict bad = new StateDict().put("__metadata__", HostTensor.of(new float[] {2}, Shape.of(1)));
        assertThrows(dev.graft.engine.GraftException.class, () -> SafeTensors.write(f, bad));
        assertEquals(one.get("a"), SafeTensors.read(f).get("a"));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
    }

    /** A file with this header text (unpadded) and buffer. */
    static byte[] file(String header, int bufferBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.writeBytes(h);
        out.writeBytes(new byte[bufferBytes]);
        return out.toByteArray();
    }

    private static String error(byte[] file) {
        return assertThrows(FormatException.class, () -> StateDicts.load(file, "t.safetensors", LoadOptions.defaults())).getMessage();
    }

    @Test
    void badOffsetsAreTypedErrors() {
        String a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        assertTrue(error(file("{" + a + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8))
                .contains("overlaps"));
        assertTrue(error(file("{" + a + "}", 4)).contains("out of range"));
        assertTrue(error(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8)).contains("misordered"));
        assertTrue(error(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)).contains("gap"));
        assertTrue(error(file("{" + a + "}", 12)).contains("after the last tensor"));
        assertTrue(error(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)).contains("needs 12 bytes"));
        assertTrue(error(file("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8)).contains("dtype C64"));
        assertTrue(error(file("{" + a + "," + a + "}", 8)).contains("duplicate"));
        assertTrue(error(file("{\"__metadata__\":{\"k\":1}}", 0)).contains("not a string"));
        assertTrue(error(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1, 2", 0)).contains("not valid JSON"));
    }

    @Test
    void hugeHeaderLengthIsRejectedBeforeAllocating() {
        byte[] f = file("{}", 0);
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        FormatException e = assertThrows(FormatException.class, () -> StateDicts.load(f, "t.safetensors", LoadOptions.defaults()));
        assertTrue(e.getMessage().contains("unrecognized format") || e.getMessage().contains("header length"), e.getMessage());
        byte[] g = file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000000,1000000000],\"data_offsets\":[0,4]}}", 4);
        assertTrue(error(g).contains("unsupported shape"));
    }

    @Test
    void aKeyTwiceAnywhereInTheHeaderIsAnError() {
        String a = "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        // the reference implementation keeps the last of two equal entries; Graft refuses
        assertTrue(error(file("{" + a + "," + a + "}", 4)).contains("duplicate key: 'a' at the top level appears twice"));
        // inside an entry (the reference refuses too)
        assertTrue(error(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"shape\":[1],\"data_offsets\":[0,4]}}", 4))
                .contains("duplicate key: 'shape' in entry 'a' appears twice"));
        assertTrue(error(file("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4))
                .contains("'dtype' in entry 'a'"));
        // __metadata__ twice, and a key twice inside it (the reference keeps the last value)
        assertTrue(error(file("{\"__metadata__\":{\"k\":\"1\"},\"__metadata__\":{\"k\":\"2\"}," + a + "}", 4))
                .contains("'__metadata__' at the top level"));
        assertTrue(error(file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}," + a + "}", 4))
                .contains("duplicate key: 'k' in __metadata__ appears twice"));
        // inside a field the reader otherwise ignores
        assertTrue(error(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":{\"y\":1,\"y\":2}}}", 4))
                .contains("'y' in entry 'a' (under x)"));
        // and the same file without the repetition loads
        assertEquals(1, StateDicts.load(file("{" + a + "}", 4), "t.safetensors", LoadOptions.defaults()).stateDict().size());
    }

    /** {@code rank} dimensions of size 1. */
    static Shape ones(int rank) {
        int[] d = new int[rank];
        java.util.Arrays.fill(d, 1);
        return Shape.of(d);
    }

    /** A file whose tensor has {@code rank} dimensions of size 1. */
    private static byte[] rank(int rank) {
        return file("{\"a\":{\"dtype\":\"F32\",\"shape\":[" + "1,".repeat(rank).replaceAll(",$", "")
                + "],\"data_offsets\":[0,4]}}", 4);
    }

    @Test
    void atMost64DimensionsAreReadAndWritten() throws IOException {
        assertEquals(64, StateDicts.load(rank(64), "t.safetensors", LoadOptions.defaults()).stateDict().get("a").shape().rank());
        assertTrue(error(rank(65)).contains("shape of 'a' has more than 64 elements (dimensions); at most 64 are supported"), error(rank(65)));
        assertTrue(error(rank(100_000)).contains("more than 64"));

        Path f = dir.resolve("r.safetensors");
        StateDict ok = new StateDict().put("a", HostTensor.of(new float[] {5}, ones(64)));
        SafeTensors.write(f, ok);
        assertEquals(ok.get("a"), SafeTensors.read(f).get("a"));
        byte[] before = Files.readAllBytes(f);
        StateDict tooMany = new StateDict().put("a", HostTensor.of(new float[] {5}, ones(65)));
        dev.graft.engine.GraftException e = assertThrows(dev.graft.engine.GraftException.class, () -> SafeTensors.write(f, tooMany));
        assertTrue(e.getMessage().contains("tensor 'a' cannot be stored: it has 65 dimensions and Graft reads at most 64"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(f), "the file is left as it was");
        StateDict huge = new StateDict().put("a", HostTensor.of(new float[] {5}, ones(100_000)));
        assertThrows(dev.graft.engine.GraftException.class, () -> SafeTensors.write(dir.resolve("huge.safetensors"), huge));
        assertFalse(Files.exists(dir.resolve("huge.safetensors")));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temporary file is left behind");
        }
    }

    @Test
    void stringsThatAreNotUnicodeAndReservedNamesAreRefusedBeforeWriting() {
        Path f = dir.resolve("u.safetensors");
        StateDict name = new StateDict().put("bad\uD800name", HostTensor.of(new float[] {1}, Shape.of(1)));
        assertTrue(assertThrows(dev.graft.engine.GraftException.class, () -> SafeTensors.write(f, name)).getMessage()
                .contains("tensor name 'bad?name' has a lone UTF-16 surrogate at index 3"));
        StateDict value = new StateDict().put("a", HostTensor.of(new float[] {1}, Shape.of(1)));
        value.metadata().put("k", "x\uDC00");
        assertTrue(assertThrows(dev.graft.engine.GraftException.class, () -> SafeTensors.write(f, value)).getMessage()
                .contains("metadata value of 'k'"));
        StateDict reserved = new StateDict().put("a", HostTensor.of(new float[] {1}, Shape.of(1)));
        reserved.metadata().put(SafeTensors.META_SHA256, "{}");
        assertTrue(assertThrows(dev.graft.engine.GraftException.class, () -> SafeTensors.write(f, reserved)).getMessage()
                .contains("'graft.sha256' is reserved"));
        assertFalse(Files.exists(f));
        StateDict pairs = new StateDict().put("\uD83D\uDE00", HostTensor.of(new float[] {1}, Shape.of(1)));
        pairs.metadata().put("\u00e9t\u00e9", "\uD834\uDD1E \u4e2d\u6587");
        SafeTensors.write(f, pairs);
        StateDict back = SafeTensors.read(f);
        assertEquals(pairs.get("\uD83D\uDE00"), back.get("\uD83D\uDE00"));
        assertEquals(pairs.metadata(), back.metadata());
    }

    /** Whatever fits the 100 MB header reads back: Jackson's own default caps (names of 50,000 chars, strings of 20M) do not apply. */
    @Test
    void longNamesAndMetadataWithinTheHeaderLimitRoundTrip() {
        Path f = dir.resolve("long.safetensors");
        String name = "n".repeat(60_000);
        StateDict sd = new StateDict().put(name, HostTensor.of(new float[] {1}, Shape.of(1)));
        sd.metadata().put("k".repeat(60_000), "v".repeat(21_000_000));
        SafeTensors.write(f, sd);
        StateDict back = SafeTensors.read(f);
        assertEquals(sd.get(name), back.get(name));
        assertEquals(sd.metadata(), back.metadata());
    }

    /**
     * Format detection sees safetensors first: a written header may put "ustar" (the tar magic) at byte 257, and a
     * header of 67,324,752 bytes starts with the zip signature "PK\\3\\4" as its little-endian length.
     */
    @Test
    void writtenFilesAreNeverTakenForAnotherFormat() throws IOException {
        Path f = dir.resolve("magic.safetensors");
        StateDict tar = new StateDict().put("a", HostTensor.of(new float[] {1}, Shape.of(1)));
        tar.metadata().put("k", "x".repeat(257 - 30) + "ustar");          // the value starts at byte 30
        SafeTensors.write(f, tar);
        assertEquals("ustar", new String(Files.readAllBytes(f), 257, 5, StandardCharsets.US_ASCII));
        assertEquals(tar.metadata(), SafeTensors.read(f).metadata());

        long zipMagic = 0x04034b50L;                                        // "PK\3\4" read as a little-endian length
        StateDict zip = new StateDict().put("a", HostTensor.of(new float[] {1}, Shape.of(1)));
        zip.metadata().put("k", "");
        SafeTensors.write(f, zip);
        long unpadded = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        byte[] head = Files.readAllBytes(f);
        while (head[(int) (8 + unpadded - 1)] == ' ') {
            unpadded--;
        }
        zip.metadata().put("k", "z".repeat((int) (zipMagic - unpadded)));
        SafeTensors.write(f, zip);
        byte[] b = Files.readAllBytes(f);
        assertEquals("PK\u0003\u0004", new String(b, 0, 4, StandardCharsets.ISO_8859_1));
        assertEquals(Format.SAFETENSORS, StateDicts.detect(f));
        assertEquals(zip.metadata(), SafeTensors.read(f).metadata());
    }
}
