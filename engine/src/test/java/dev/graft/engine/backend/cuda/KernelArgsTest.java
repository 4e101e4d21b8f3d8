package dev.graft.engine.backend.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KernelArgsTest {

    @Test
    void eachArgumentSitsAtAnEightByteAlignedOffsetWithItsValue() {
        KernelArgs a = new KernelArgs().ptr(0xABCDEF0123L).i32(-7).f32(1.5f).f64(2.25).struct(new long[] {3, 4, 5}).i64(99);
        assertEquals(6, a.count());
        int[] expected = {0, 8, 16, 24, 32, 56};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], a.offset(i), "offset of argument " + i);
        }
        ByteBuffer b = ByteBuffer.wrap(a.bytes()).order(ByteOrder.nativeOrder());
        assertEquals(64, b.capacity());
        assertEquals(0xABCDEF0123L, b.getLong(0));
        assertEquals(-7, b.getInt(8));
        assertEquals(1.5f, b.getFloat(16));
        assertEquals(2.25, b.getDouble(24));
        assertEquals(3, b.getLong(32));
        assertEquals(5, b.getLong(48));
        assertEquals(99, b.getLong(56));
    }

    /** The launch array holds, per parameter, the host address of its value (JavaCPP's native memory; no GPU). */
    @Test
    void theParameterArrayPointsAtEachValue() {
        KernelArgs a = new KernelArgs().ptr(0x7f00001234L).i32(-3).f32(0.25f).struct(new long[] {11, 12}).f64(-1.5);
        try (BytePointer values = new BytePointer(a.bytes()); PointerPointer<BytePointer> params = CudaKernels.parameterArray(values, a)) {
            assertEquals(0x7f00001234L, params.get(BytePointer.class, 0).getLong(0));
            assertEquals(-3, params.get(BytePointer.class, 1).getInt(0));
            assertEquals(0.25f, params.get(BytePointer.class, 2).getFloat(0));
            assertEquals(11, params.get(BytePointer.class, 3).getLong(0));
            assertEquals(12, params.get(BytePointer.class, 3).getLong(8));
            assertEquals(-1.5, params.get(BytePointer.class, 4).getDouble(0));
            assertEquals(values.address() + a.offset(4), params.get(4).address());
        }
    }

    @Test
    void manyArgumentsGrowTheOffsetTable() {
        KernelArgs a = new KernelArgs();
        for (int i = 0; i < 40; i++) {
            a.i32(i);
        }
        assertEquals(40, a.count());
        assertEquals(39 * 8, a.offset(39));
    }
}
