package dev.graft.engine.backend.cpu;

import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.NativeException;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import dev.graft.engine.ShapeException;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.dnnl_version_t;
import org.bytedeco.javacpp.PointerScope;

import java.util.function.Supplier;

import static org.bytedeco.dnnl.global.dnnl.DNNL_MAX_NDIMS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_RUNTIME_OMP;
import static org.bytedeco.dnnl.global.dnnl.DNNL_RUNTIME_SEQ;
import static org.bytedeco.dnnl.global.dnnl.DNNL_RUNTIME_TBB;
import static org.bytedeco.dnnl.global.dnnl.dnnl_version;
import static org.bytedeco.dnnl.global.dnnl.fpmath_mode;
import static org.bytedeco.dnnl.global.dnnl.get_effective_cpu_isa;

/**
 * The oneDNN engine and stream of one cpu backend, plus the memory-descriptor vocabulary the op classes share.
 * Not thread-safe: {@link CpuBackend} serialises kernel calls. Descriptors use PyTorch's logical dims (NCHW,
 * OIHW); the tag or strides say the physical order (nhwc for channels-last activations).
 */
final class Dnnl implements AutoCloseable {
    final engine engine;
    final stream stream;

    Dnnl() {
        engine = new engine(org.bytedeco.dnnl.engine.kind.cpu, 0);
        stream = new stream(engine);
    }

    /** "oneDNN 3.11.0, ISA avx512_core_bf16": what the loaded library is and which kernels it will JIT. */
    static String versionAndIsa() {
        dnnl_version_t v = dnnl_version();
        String runtime = switch (v.cpu_runtime()) {
            case DNNL_RUNTIME_OMP -> "OpenMP";
            case DNNL_RUNTIME_TBB -> "TBB";
            case DNNL_RUNTIME_SEQ -> "sequential";
            default -> "runtime " + v.cpu_runtime();
        };
        return "oneDNN " + v.major() + "." + v.minor() + "." + v.patch() + " (" + runtime + "), ISA "
                + get_effective_cpu_isa().toString();
    }

    /**
     * The attributes of an F32 matmul computing in {@code precision}: none for FP32 ({@code strict}
     * fpmath), {@code fpmath_mode::bf16} for BF16, which lets oneDNN round the F32 operands to bfloat16 inside the
     * kernel (round-to-nearest-even) and accumulate in F32, tensors staying F32 at the boundary. The caller owns
     * (and closes) the result.
     */
    static primitive_attr arithmetic(Precision precision) {
        primitive_attr attr = new primitive_attr();
        switch (precision) {
            case FP32 -> { }
            case BF16 -> attr.set_fpmath_mode(fpmath_mode.bf16);
            case INT8 -> throw new IllegalStateException("int8 is not a training arithmetic");
        }
        return attr;
    }

    /**
     * Whether this machine computes bf16 products natively (oneDNN's effective ISA: {@code avx512_core_bf16}, AMX or
     * AVX10), so {@code fpmath_mode::bf16} selects bf16 kernels. On older ISAs oneDNN would keep the F32 kernels or
     * emulate, no faster than FP32, so the cpu backend refuses bf16 there instead.
     */
    static boolean nativeBf16(String isa) {
        return isa.contains("bf16") || isa.contains("amx") || isa.startsWith("avx10");
    }

    /** Whether oneDNN's implementation name says it multiplies in bf16 (a bf16 or AMX ISA). */
    static boolean bf16Kernel(String implementation) {
        return implementation.contains("bf16") || implementation.contains("amx");
    }

    static String isa() {
        return get_effective_cpu_isa().toString();
    }

    /**
     * Runs {@code build} inside a JavaCPP PointerScope, so every temporary native object it makes (descriptors
     * returned by queries, intermediate descs) is freed on return; what the result keeps it retains itself.
     * A oneDNN failure becomes a NativeException naming {@code what}.
     */
    static <T> T build(String what, Supplier<T> build) {
        try (PointerScope scope = new PointerScope()) {
            return build.get();
        } catch (RuntimeException e) {
            if (e instanceof dev.graft.engine.GraftException g) {
                throw g;
            }
            throw new NativeException("oneDNN could not create " + what + ": " + e.getMessage()
                    + "; rerun with ONEDNN_VERBOSE=all to see the implementations it tried", e);
        }
    }

    // ---- descriptors ------------------------------------------------------------------------------------

    /** Logical dims as oneDNN wants them; a scalar is one element of rank 1. */
    static long[] dims(Shape s) {
        if (s.rank() > DNNL_MAX_NDIMS) {
            throw new ShapeException("cpu backend: tensors of rank " + s.rank() + " are not supported (oneDNN allows "
                    + DNNL_MAX_NDIMS + "); reshape to fewer dimensions");
        }
        if (s.rank() == 0) {
            return new long[] {1};
        }
        long[] d = new long[s.rank()];
        for (int i = 0; i < d.length; i++) {
            d[i] = s.dim(i);
        }
        return d;
    }

    /** The descriptor of {@code a}'s storage: nhwc for channels-last, dense row-major otherwise. */
    static memory.desc desc(NDArray a) {
        return a.layout() == Layout.CHANNELS_LAST ? nhwc(dims(a.shape())) : plain(dims(a.shape()));
    }

    static memory.desc desc(Shape s, Layout layout) {
        return layout == Layout.CHANNELS_LAST ? nhwc(dims(s)) : plain(dims(s));
    }

    /** Dense row-major over {@code dims} (nchw, oihw, goihw, ab, x ... by rank). */
    static memory.desc plain(long[] dims) {
        return new memory.desc(dims, memory.data_type.f32, rowMajorStrides(dims));
    }

    static memory.desc nhwc(long[] dims) {
        return new memory.desc(dims, memory.data_type.f32, memory.format_tag.nhwc);
    }

    /** Lets the primitive choose (blocked layouts for weights). */
    static memory.desc any(long[] dims) {
        return new memory.desc(dims, memory.data_type.f32, memory.format_tag.any);
    }

    static long[] rowMajorStrides(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(dims[i], 1);
        }
        return s;
    }

    /** oneDNN throws from execute only on internal errors; keep the op name in the message. */
    static NativeException executeFailed(String what, RuntimeException e) {
        return new NativeException("oneDNN failed to execute " + what + ": " + e.getMessage()
                + "; rerun with ONEDNN_VERBOSE=all for details", e);
    }

    @Override
    public void close() {
        stream.close();
        engine.close();
    }
}
