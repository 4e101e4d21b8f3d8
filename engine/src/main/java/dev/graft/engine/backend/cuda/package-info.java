/**
 * The {@code cuda} backend: cuDNN for convolution, batch norm, pooling, ReLU and log-softmax, cuBLAS for gemm,
 * axpy and scal, and small F32 kernels compiled at run time with NVRTC for everything else (no nvcc in the
 * build). Bindings are {@code org.bytedeco:cuda} (JavaCPP); the CUDA libraries come from the machine.
 *
 * <p>Only this package may reference {@code org.bytedeco.cuda} classes, and {@link
 * dev.graft.engine.backend.cuda.CudaProvider} touches none of them until {@code probe()}, so a machine
 * without CUDA (or without the jars) loads the engine normally and hears why CUDA is unavailable.
 *
 * <p>Threads: one stream per backend, shared by cuDNN, cuBLAS and the kernels, so work from any thread is
 * ordered on the device without events. cuDNN and cuBLAS handles are created per thread on first use and
 * bound to that stream. Memory comes from a caching allocator; freed blocks are reused in stream order.
 */
package dev.graft.engine.backend.cuda;
