package dev.graft.engine.backend.cuda;

import org.bytedeco.javacpp.FloatPointer;

import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasSaxpy_v2;
import static org.bytedeco.cuda.global.cublas.cublasSgemmStridedBatched;
import static org.bytedeco.cuda.global.cublas.cublasSgemm_v2;
import static org.bytedeco.cuda.global.cublas.cublasSscal_v2;

/**
 * SGEMM, SAXPY and SSCAL through cuBLAS (v2 API, host pointer mode: alpha and beta are read from host memory
 * before the call returns, so per-call scalars can be freed right after).
 */
final class CublasOps {
    private final CudaContext ctx;

    CublasOps(CudaContext ctx) {
        this.ctx = ctx;
    }

    /**
     * C = op(A) op(B), all row-major: A is [aRows, aCols], B is [bRows, bCols], C is [m, n] with k the inner size.
     *
     * <p>cuBLAS is column-major. A row-major [r, c] buffer read column-major with leading dimension c is the
     * transpose, [c, r]. So reading C's buffer column-major gives C^T = (op(A) op(B))^T = op(B)^T op(A)^T, an
     * [n, m] column-major product with ldc = n. Its first operand op(B)^T is B's buffer as cuBLAS reads it (B^T)
     * when transB is false (pass CUBLAS_OP_N), and the transpose of that (pass CUBLAS_OP_T) when transB is true;
     * likewise for A. Hence: sgemm(opB, opA, n, m, k, B, ldb = bCols, A, lda = aCols, C, ldc = n), operands
     * swapped and no data moved (llm.c works the same identity through in dev/cuda/matmul_forward.cu).
     */
    void gemm(long a, int aCols, boolean transA, long b, int bCols, boolean transB, long c, int m, int n, int k) {
        Handles h = ctx.handles();
        CudaCheck.cublas(cublasSgemm_v2(h.cublas, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N,
                n, m, k, ctx.one, DevicePointer.of(b), Math.max(1, bCols), DevicePointer.of(a), Math.max(1, aCols),
                ctx.zero, DevicePointer.of(c), Math.max(1, n)), "cublasSgemm_v2(m=" + m + ", n=" + n + ", k=" + k + ")");
    }

    /**
     * The batched form of {@link #gemm} with cublasSgemmStridedBatched: {@code batch} row-major products, A's i-th
     * matrix at {@code a + i * aStride} floats, B's and C's likewise (the same operand swap as {@link #gemm}).
     */
    void gemmStridedBatched(long a, int aCols, long aStride, boolean transA, long b, int bCols, long bStride, boolean transB,
                            long c, int m, int n, int k, int batch) {
        Handles h = ctx.handles();
        CudaCheck.cublas(cublasSgemmStridedBatched(h.cublas, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N,
                n, m, k, ctx.one, DevicePointer.of(b), Math.max(1, bCols), bStride, DevicePointer.of(a), Math.max(1, aCols), aStride,
                ctx.zero, DevicePointer.of(c), Math.max(1, n), (long) m * n, batch),
                "cublasSgemmStridedBatched(batch=" + batch + ", m=" + m + ", n=" + n + ", k=" + k + ")");
    }

    /** y += alpha * x over n elements. */
    void axpy(int n, float alpha, long x, long y) {
        Handles h = ctx.handles();
        try (FloatPointer a = new FloatPointer(alpha)) {
            CudaCheck.cublas(cublasSaxpy_v2(h.cublas, n, a, DevicePointer.of(x), 1, DevicePointer.of(y), 1), "cublasSaxpy_v2(" + n + ")");
        }
    }

    /** x *= alpha over n elements. */
    void scal(int n, float alpha, long x) {
        Handles h = ctx.handles();
        try (FloatPointer a = new FloatPointer(alpha)) {
            CudaCheck.cublas(cublasSscal_v2(h.cublas, n, a, DevicePointer.of(x), 1), "cublasSscal_v2(" + n + ")");
        }
    }
}
