package dev.graft.engine.backend.cuda;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnContext;

import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetMathMode;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cudnn.cudnnCreate;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroy;
import static org.bytedeco.cuda.global.cudnn.cudnnSetStream;

/**
 * The cuDNN and cuBLAS handles of one thread (handles are not thread-safe; candle and PyTorch keep them per
 * thread too), both bound to the backend's one stream, so their work is ordered with the NVRTC kernels. Made on
 * a thread's first op (after {@code cudaSetDevice}); destroyed when the backend closes.
 */
final class Handles implements AutoCloseable {
    final cudnnContext cudnn = new cudnnContext();
    final cublasContext cublas = new cublasContext();
    private boolean closed;

    Handles(CUstream_st stream, MathMode math) {
        CudaCheck.cudnn(cudnnCreate(cudnn), "cudnnCreate");
        try {
            CudaCheck.cudnn(cudnnSetStream(cudnn, stream), "cudnnSetStream");
            CudaCheck.cublas(cublasCreate_v2(cublas), "cublasCreate_v2");
            CudaCheck.cublas(cublasSetStream_v2(cublas, stream), "cublasSetStream_v2");
            CudaCheck.cublas(cublasSetMathMode(cublas, math.cublasMathMode()), "cublasSetMathMode");
        } catch (RuntimeException e) {
            try {
                close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!cublas.isNull()) {
            CudaCheck.cublas(cublasDestroy_v2(cublas), "cublasDestroy_v2");
        }
        if (!cudnn.isNull()) {
            CudaCheck.cudnn(cudnnDestroy(cudnn), "cudnnDestroy");
        }
    }
}
