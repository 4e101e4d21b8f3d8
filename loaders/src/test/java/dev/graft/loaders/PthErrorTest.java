package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Hand-made pickles that must fail cleanly, with the reason and byte offset in the message. */
class PthErrorTest {
    private static FormatException fail(byte[] pickle, Map<String, byte[]> storages) {
        byte[] zip = PickleWriter.zip("x", pickle, storages);
        return assertThrows(FormatException.class, () -> StateDicts.load(zip, "bad.pth", LoadOptions.defaults()));
    }

    private static FormatException fail(PickleWriter w) {
        return fail(w.bytes(), Map.of());
    }

    private static PickleWriter dictWith(String storageType, long numel, long offset, long[] size, long[] stride) {
        return new PickleWriter().proto(2).orderedDict().str("t").tensor(storageType, "0", numel, offset, size, stride).op('s', '.');
    }

    @Test
    void tensorClaimingMoreBytesThanTheFileHasFailsBeforeAllocating() {
        FormatException e = fail(dictWith("FloatStorage", 1L << 40, 0, new long[] {1L << 30, 1024}, new long[] {1024, 1}).bytes(),
                Map.of("0", new byte[16]));
        assertTrue(e.getMessage().contains("claims 1099511627776 float32 elements") && e.getMessage().contains("holds 16 bytes"), e.getMessage());
        e = fail(dictWith("FloatStorage", 4, 2, new long[] {3}, new long[] {1}).bytes(), Map.of("0", new byte[16]));
        assertTrue(e.getMessage().contains("reaches element 4 of a 4-element storage"), e.getMessage());
    }

    @Test
    void hugeExpandedViewIsCapped() {
        FormatException e = fail(dictWith("FloatStorage", 1, 0, new long[] {1 << 26}, new long[] {0}).bytes(), Map.of("0", new byte[4]));
        assertTrue(e.getMessage().contains("repeats storage elements"), e.getMessage());
    }

    @Test
    void negativeStrideAndMissingStorageAreNamed() {
        assertTrue(fail(dictWith("FloatStorage", 4, 3, new long[] {2}, new long[] {-1}).bytes(), Map.of("0", new byte[16]))
                .getMessage().contains("negative stride"));
        assertTrue(fail(dictWith("FloatStorage", 4, 0, new long[] {2}, new long[] {1}).bytes(), Map.of("1", new byte[16]))
                .getMessage().contains("refers to storage '0', which the file does not contain"));
    }

    @Test
    void refusedOpcodesAndGlobalsNameThemselvesAndTheirOffset() {
        FormatException e = fail(new PickleWriter().proto(2).op('I').op('1', '\n', '.'));
        assertTrue(e.getMessage().contains("'I' (INT, protocol 0) is not allowed"), e.getMessage());
        // the pickle starts after the 30-byte local header and the name "x/data.pkl"
        assertEquals(30 + "x/data.pkl".length() + 2, e.offset());
        e = fail(new PickleWriter().proto(4).shortStr("builtins").shortStr("eval").op(0x93));   // STACK_GLOBAL
        assertTrue(e.getMessage().contains("'builtins.eval' is not allowed"), e.getMessage());
        e = fail(new PickleWriter().proto(2).global("torch._utils", "_rebuild_qtensor"));
        assertTrue(e.getMessage().contains("'torch._utils._rebuild_qtensor' is not allowed"), e.getMessage());
        e = fail(new PickleWriter().proto(2).global("torch", "FloatStorage").op(')', 'R', '.'));
        assertTrue(e.getMessage().contains("torch.FloatStorage may appear only as a type marker"), e.getMessage());
    }

    @Test
    void malformedPicklesFailCleanly() {
        assertTrue(fail(new PickleWriter().proto(2).op('.')).getMessage().contains("stack underflow"));
        assertTrue(fail(new PickleWriter().proto(2).op('h', 3)).getMessage().contains("memo index 3 was never stored"));
        assertTrue(fail(new PickleWriter().proto(2).op('X', 0xff, 0xff, 0xff, 0x7f)).getMessage().contains("remain"));
        assertTrue(fail(new PickleWriter().proto(2).op('}', ']', 'N', 's')).getMessage().contains("dict key of type list"));
        assertTrue(fail(new PickleWriter().proto(6)).getMessage().contains("protocol 6"));
        // a list that contains itself, returned as the root: not a dict, and described without recursing
        assertTrue(fail(new PickleWriter().proto(2).op(']', 'q', 0, 'h', 0, 'a', '.')).getMessage().contains("list of 1, not a dict"));
    }

    @Test
    void deepNestingDoesNotOverflowTheStack() {
        PickleWriter w = new PickleWriter().proto(2).op(')');
        for (int i = 0; i < 200_000; i++) {
            w.op(0x85);                       // TUPLE1 around the previous value
        }
        assertTrue(fail(w.op('.')).getMessage().contains("tuple of 1, not a dict"));
    }

    @Test
    void rankIsBoundedAsForEveryFormat() {
        long[] ones = new long[100_000];
        java.util.Arrays.fill(ones, 1);
        FormatException e = fail(dictWith("FloatStorage", 1, 0, ones, ones).bytes(), Map.of("0", new byte[4]));
        assertTrue(e.getMessage().contains("tensor 't' has 100000 dimensions; at most 64 are supported"), e.getMessage());
        long[] rank64 = java.util.Arrays.copyOf(ones, 64);
        byte[] zip = PickleWriter.zip("x", dictWith("FloatStorage", 1, 0, rank64, rank64).bytes(), Map.of("0", new byte[4]));
        assertEquals(64, StateDicts.load(zip, "ok.pth", LoadOptions.defaults()).stateDict().get("t").shape().rank());
    }

    @Test
    void aPickleThatMakesMoreValuesThanAnyStateDictIsRefused() {
        byte[] pickle = new byte[2 + (1 << 22) + 2];
        java.util.Arrays.fill(pickle, (byte) 'N');            // NONE: one byte, one value
        pickle[0] = (byte) 0x80;
        pickle[1] = 2;
        pickle[pickle.length - 1] = '.';
        assertTrue(fail(pickle, Map.of()).getMessage().contains("the pickle makes more than 4194304 values"));
    }

    @Test
    void aHugeZipCentralDirectoryIsRefusedBeforeReadingIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        // a sparse file whose end record claims a 65 MiB central directory at offset 0
        java.nio.file.Path f = dir.resolve("cd.pth");
        long cd = 65L << 20;
        try (java.io.RandomAccessFile out = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            out.setLength(cd);
            out.seek(cd);
            java.nio.ByteBuffer eocd = java.nio.ByteBuffer.allocate(22).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            eocd.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) 1).putShort((short) 1)
                    .putInt((int) cd).putInt(0).putShort((short) 0);
            out.write(eocd.array());
        }
        // detected as a zip only by its first bytes: give it a local-header signature
        try (java.io.RandomAccessFile out = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            out.write(new byte[] {'P', 'K', 3, 4});
        }
        FormatException e = assertThrows(FormatException.class, () -> StateDicts.read(f));
        assertTrue(e.getMessage().contains("zip central directory of 68157440 bytes is larger than the 67108864"), e.getMessage());
    }
}
