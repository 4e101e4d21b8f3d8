package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import org.bytedeco.dnnl.memory;
import org.bytedeco.javacpp.Pointer;

import java.util.HashMap;
import java.util.Map;

/**
 * {@code op(A) @ op(B)} with oneDNN's matmul. Transposes cost nothing: a transposed row-major operand is
 * described by swapped strides ([M,K] with strides {1, M} is A stored as [K,M]). Under {@link Precision#BF16} the
 * primitive computes bf16 products with F32 accumulation ({@link MatmulStep}).
 */
final class CpuMatmul implements AutoCloseable {
    private record Key(int m, int k, int n, boolean transA, boolean transB, Precision precision) {
    }

    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final Map<Key, MatmulStep> cache = new HashMap<>();

    CpuMatmul(Dnnl dnnl, CpuBackend backend) {
        this.dnnl = dnnl;
        this.backend = backend;
    }

    NDArray gemm(NDArray a, NDArray b, boolean transA, boolean transB) {
        int m = transA ? a.shape().dim(1) : a.shape().dim(0);
        int k = transA ? a.shape().dim(0) : a.shape().dim(1);
        int n = transB ? b.shape().dim(0) : b.shape().dim(1);
        NDArray c = backend.empty(DType.F32, Shape.of(m, n), Layout.ROW_MAJOR);
        if (m == 0 || n == 0) {
            return c;
        }
        if (k == 0) {
            // An empty sum: zeros, as torch.mm gives.
            Pointer.memset(NativeBuffer.of(c).pointer(), 0, (long) m * n * Float.BYTES);
            return c;
        }
        Key key = new Key(m, k, n, transA, transB, backend.precision());
        MatmulStep step = cache.computeIfAbsent(key, this::build);
        step.run(dnnl, NativeBuffer.of(a).pointer(), NativeBuffer.of(b).pointer(), NativeBuffer.of(c).pointer());
        return c;
    }

    private MatmulStep build(Key key) {
        String what = "matmul " + key;
        return Dnnl.build(what, () -> {
            memory.desc a = new memory.desc(new long[] {key.m(), key.k()}, memory.data_type.f32,
                    key.transA() ? new long[] {1, key.m()} : new long[] {key.k(), 1});
            memory.desc b = new memory.desc(new long[] {key.k(), key.n()}, memory.data_type.f32,
                    key.transB() ? new long[] {1, key.k()} : new long[] {key.n(), 1});
            memory.desc c = Dnnl.plain(new long[] {key.m(), key.n()});
            return MatmulStep.build(what, dnnl, a, b, c, key.precision());
        });
    }

    @Override
    public void close() {
        cache.values().forEach(MatmulStep::close);
        cache.clear();
    }
}
