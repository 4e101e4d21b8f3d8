package dev.graft.engine.backend.cpu;

import dev.graft.engine.Precision;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.Pointer;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;

/**
 * One matmul primitive of {@link CpuMatmul} or {@link CpuTransformer}, F32 operands and result at the boundary. Under
 * {@link Precision#BF16} it is built with {@code fpmath_mode::bf16}; where oneDNN keeps an f32 kernel anyway (3.11
 * does for small products, e.g. [2,48] x [48,3] picks {@code brg_matmul:avx512_core}), it is rebuilt on explicit bf16
 * operands: each is converted by a oneDNN reorder (nearest-even) into bf16 memory with the same strides, and the
 * product accumulates in F32 into the F32 result.
 */
final class MatmulStep implements AutoCloseable {
    private final Step step;
    private final Step aToBf16;
    private final Step bToBf16;
    private final long aBytes;
    private final long bBytes;

    private MatmulStep(Step step, Step aToBf16, Step bToBf16, long aBytes, long bBytes) {
        this.step = step;
        this.aToBf16 = aToBf16;
        this.bToBf16 = bToBf16;
        this.aBytes = aBytes;
        this.bBytes = bBytes;
    }

    /** Must be called inside {@link Dnnl#build}. {@code a}, {@code b}, {@code c} are F32 descriptors. */
    static MatmulStep build(String what, Dnnl dnnl, memory.desc a, memory.desc b, memory.desc c, Precision precision) {
        matmul.primitive_desc pd = new matmul.primitive_desc(dnnl.engine, a, b, c, Dnnl.arithmetic(precision), false);
        if (precision != Precision.BF16 || Dnnl.bf16Kernel(pd.impl_info_str().getString())) {
            return new MatmulStep(new Step(what, dnnl, pd, new matmul(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                    new memory.desc[] {a, b, c}), null, null, 0, 0);
        }
        memory.desc ah = new memory.desc(a.get_dims(), memory.data_type.bf16, a.get_strides());
        memory.desc bh = new memory.desc(b.get_dims(), memory.data_type.bf16, b.get_strides());
        matmul.primitive_desc half = new matmul.primitive_desc(dnnl.engine, ah, bh, c);
        return new MatmulStep(new Step(what + " (bf16 operands)", dnnl, half, new matmul(half),
                new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST}, new memory.desc[] {ah, bh, c}),
                convert(what, dnnl, a, ah), convert(what, dnnl, b, bh), ah.get_size(), bh.get_size());
    }

    private static Step convert(String what, Dnnl dnnl, memory.desc from, memory.desc to) {
        reorder.primitive_desc pd = new reorder.primitive_desc(dnnl.engine, from, dnnl.engine, to);
        return new Step("bf16 operand of " + what, dnnl, pd, new reorder(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                new memory.desc[] {from, to});
    }

    void run(Dnnl dnnl, Pointer a, Pointer b, Pointer c) {
        if (aToBf16 == null) {
            step.run(dnnl, a, b, c);
            return;
        }
        try (NativeMemory ah = new NativeMemory(aBytes); NativeMemory bh = new NativeMemory(bBytes)) {
            aToBf16.run(dnnl, a, ah.pointer());
            bToBf16.run(dnnl, b, bh.pointer());
            step.run(dnnl, ah.pointer(), bh.pointer(), c);
        }
    }

    String implementation() {
        return step.implementation();
    }

    @Override
    public void close() {
        step.close();
        if (aToBf16 != null) {
            aToBf16.close();
            bToBf16.close();
        }
    }
}
