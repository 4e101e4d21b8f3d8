package dev.graft.engine.backend.cuda;

import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.cuda.global.cudart.cudaErrorMemoryAllocation;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaGetLastError;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMemGetInfo;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy2DAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToDevice;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaMemsetAsync;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamNonBlocking;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;

/**
 * Everything one backend shares on one device: the stream (all cuDNN, cuBLAS and kernel work goes there, in
 * order), the caching allocator, the cuDNN workspace, the NVRTC kernels, host-side alpha/beta constants, and
 * per-thread handles. Any thread may use it: {@link #handles()} makes the device current on the calling
 * thread and creates that thread's handles on first use.
 */
final class CudaContext implements AutoCloseable {
    /** The device the runtime has current on each thread, as far as this class set it. */
    private static final ThreadLocal<Integer> CURRENT = new ThreadLocal<>();

    final CudaInfo.DeviceInfo device;
    final MathMode math;
    final DeviceAllocator allocator;
    final Workspace workspace;
    final CudaKernels kernels;
    /** Host scalars 1 and 0 for cuDNN/cuBLAS alpha and beta (host pointer mode), read-only, shared by threads. */
    final FloatPointer one = new FloatPointer(1f);
    final FloatPointer zero = new FloatPointer(0f);
    private final CUstream_st stream = new CUstream_st();
    private final ThreadLocal<Handles> handles = new ThreadLocal<>();
    private final List<Handles> allHandles = new ArrayList<>();
    private volatile boolean closed;

    CudaContext(CudaInfo.DeviceInfo device, MathMode math) {
        this.device = device;
        this.math = math;
        makeCurrent();
        // Non-blocking: our stream never waits for work on the legacy default stream, which we do not use.
        CudaCheck.cuda(cudaStreamCreateWithFlags(stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
        this.allocator = new DeviceAllocator(new Raw());
        this.workspace = new Workspace(allocator);
        this.kernels = new CudaKernels(this);
    }

    CUstream_st stream() {
        return stream;
    }

    int computeCapability() {
        return device.computeCapability();
    }

    /** Makes this device current on the calling thread (the runtime's current device is per thread). */
    void makeCurrent() {
        if (closed) {
            throw new IllegalStateException("the cuda backend for cuda:" + device.index() + " was closed");
        }
        Integer cur = CURRENT.get();
        if (cur == null || cur != device.index()) {
            CudaCheck.cuda(cudaSetDevice(device.index()), "cudaSetDevice(" + device.index() + ")");
            CURRENT.set(device.index());
        }
    }

    /** This thread's cuDNN and cuBLAS handles, bound to the shared stream. */
    Handles handles() {
        makeCurrent();
        Handles h = handles.get();
        if (h == null) {
            h = new Handles(stream, math);
            handles.set(h);
            synchronized (allHandles) {
                allHandles.add(h);
            }
        }
        return h;
    }

    /** Waits for everything enqueued so far. */
    void synchronize() {
        makeCurrent();
        CudaCheck.cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    }

    /** Host to device, then waits, so the host memory may be freed on return. */
    void upload(long dst, Pointer src, long bytes) {
        if (bytes == 0) {
            return;
        }
        makeCurrent();
        CudaCheck.cuda(cudaMemcpyAsync(DevicePointer.of(dst), src, bytes, cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync(host to device)");
        synchronize();
    }

    /** Device to host, after all enqueued work; waits until the data is there. */
    void download(Pointer dst, long src, long bytes) {
        if (bytes == 0) {
            return;
        }
        makeCurrent();
        CudaCheck.cuda(cudaMemcpyAsync(dst, DevicePointer.of(src), bytes, cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync(device to host)");
        synchronize();
    }

    /** Device to device, enqueued. */
    void copy(long dst, long src, long bytes) {
        if (bytes == 0 || dst == src) {
            return;
        }
        makeCurrent();
        CudaCheck.cuda(cudaMemcpyAsync(DevicePointer.of(dst), DevicePointer.of(src), bytes, cudaMemcpyDeviceToDevice, stream),
                "cudaMemcpyAsync(device to device)");
    }

    /**
     * Device to device, enqueued: {@code rows} runs of {@code widthBytes}, the source's runs {@code srcPitch} bytes
     * apart and the destination's {@code dstPitch} apart (channel concatenation: one run per image).
     */
    void copy2d(long dst, long dstPitch, long src, long srcPitch, long widthBytes, long rows) {
        if (widthBytes == 0 || rows == 0) {
            return;
        }
        makeCurrent();
        CudaCheck.cuda(cudaMemcpy2DAsync(DevicePointer.of(dst), dstPitch, DevicePointer.of(src), srcPitch, widthBytes, rows,
                cudaMemcpyDeviceToDevice, stream), "cudaMemcpy2DAsync(device to device, " + rows + " x " + widthBytes + " bytes)");
    }

    /** Zero bytes, enqueued. */
    void zero(long dst, long bytes) {
        if (bytes == 0) {
            return;
        }
        makeCurrent();
        CudaCheck.cuda(cudaMemsetAsync(DevicePointer.of(dst), 0, bytes, stream), "cudaMemsetAsync");
    }

    /** Unscoped device scratch for one op; give it back with {@code allocator.release} once the op is enqueued. */
    DeviceAllocator.Block scratch(long bytes) {
        makeCurrent();
        return allocator.allocate(bytes);
    }

    /** Frees everything this context owns; every step runs even if an earlier one failed, the first failure is thrown. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        List<Runnable> steps = new ArrayList<>();
        steps.add(this::synchronize);
        steps.add(kernels::close);
        steps.add(workspace::release);
        synchronized (allHandles) {
            allHandles.forEach(h -> steps.add(h::close));
            allHandles.clear();
        }
        steps.add(allocator::close);
        steps.add(() -> CudaCheck.cuda(cudaStreamDestroy(stream), "cudaStreamDestroy"));
        steps.add(one::close);
        steps.add(zero::close);
        RuntimeException first = null;
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        closed = true;
        if (first != null) {
            throw first;
        }
    }

    /** cudaMalloc/cudaFree for the allocator, on this device whatever thread asks. */
    private final class Raw implements RawDeviceMemory {
        @Override
        public long malloc(long bytes) {
            makeCurrent();
            Pointer p = new Pointer();
            int rc = cudaMalloc(p, bytes);
            if (rc == cudaErrorMemoryAllocation) {
                cudaGetLastError(); // clear it: an allocation failure is not sticky, but is remembered as the last error
                return 0;
            }
            CudaCheck.cuda(rc, "cudaMalloc(" + bytes + " bytes)");
            return p.address();
        }

        @Override
        public void free(long address) {
            makeCurrent();
            CudaCheck.cuda(cudaFree(DevicePointer.of(address)), "cudaFree");
        }

        @Override
        public long[] info() {
            try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
                makeCurrent();
                return cudaMemGetInfo(free, total) == 0 ? new long[] {free.get(), total.get()} : new long[] {-1, -1};
            }
        }
    }
}
