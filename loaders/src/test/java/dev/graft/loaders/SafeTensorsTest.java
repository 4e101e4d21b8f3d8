package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
