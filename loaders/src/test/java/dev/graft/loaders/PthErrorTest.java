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
}
