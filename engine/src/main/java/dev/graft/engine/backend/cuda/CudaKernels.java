package dev.graft.engine.backend.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.Map;

import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;

/**
 * The backend's NVRTC kernels: one CUDA file per family (resources {@code kernels/*.cu}, each compiled with
 * {@code kernels/common.cuh} in front), compiled and loaded on first use, launched on the shared stream.
 * Block size is fixed at 256 threads ({@code GRAFT_BLOCK} in common.cuh: the block reductions rely on it).
 */
final class CudaKernels implements AutoCloseable {
    static final int BLOCK = 256;
    /** Grid-stride kernels need no more blocks than this to fill any current GPU. */
    static final long MAX_GRID = 65536;

    /** The kernel files. */
    enum Source {
        ELEMENTWISE("elementwise.cu"),
        REDUCE("reduce.cu"),
        BATCHNORM("batchnorm.cu"),
        LOSS("loss.cu"),
        OPTIM("optim.cu"),
        TRANSFORMER("transformer.cu");

        final String file;

        Source(String file) {
            this.file = file;
        }

        String text() {
            return resource("common.cuh") + "\n" + resource(file);
        }
    }

    private final CudaContext ctx;
    private final Map<Source, KernelModule> modules = new EnumMap<>(Source.class);

    CudaKernels(CudaContext ctx) {
        this.ctx = ctx;
    }

    /** A grid-stride launch covering {@code work} items (grid capped at {@link #MAX_GRID} blocks). */
    void launch(Source source, String kernel, long work, KernelArgs args) {
        long blocks = Math.max(1, Math.min(MAX_GRID, (work + BLOCK - 1) / BLOCK));
        launchBlocks(source, kernel, blocks, args);
    }

    /** Exactly {@code blocks} blocks of {@link #BLOCK} threads (one block per output, block reductions). */
    void launchBlocks(Source source, String kernel, long blocks, KernelArgs args) {
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(kernel + ": " + blocks + " blocks exceed the grid limit");
        }
        ctx.makeCurrent();
        CUfunc_st f = function(source, kernel);
        // kernelParams: an array of host addresses, one per parameter, each pointing at that parameter's value.
        // (The PointerPointer overload passes the array itself; the Pointer overload is @ByPtrPtr and would not.)
        try (BytePointer values = new BytePointer(args.bytes()); PointerPointer<BytePointer> params = parameterArray(values, args)) {
            CudaCheck.driver(cuLaunchKernel(f, (int) blocks, 1, 1, BLOCK, 1, 1, 0, ctx.stream(), params, (PointerPointer<?>) null),
                    "cuLaunchKernel(" + kernel + ")");
        }
    }

    /** The {@code kernelParams} array for {@code args} whose packed bytes are in {@code values} (the caller closes both). */
    static PointerPointer<BytePointer> parameterArray(BytePointer values, KernelArgs args) {
        PointerPointer<BytePointer> params = new PointerPointer<>(args.count());
        for (int i = 0; i < args.count(); i++) {
            params.put(i, DevicePointer.of(values.address() + args.offset(i)));
        }
        return params;
    }

    private synchronized CUfunc_st function(Source source, String kernel) {
        KernelModule m = modules.get(source);
        if (m == null) {
            NvrtcCompiler.Image image = NvrtcCompiler.compile(source.file, source.text(), ctx.computeCapability());
            m = new KernelModule(image);
            modules.put(source, m);
        }
        return m.function(kernel);
    }

    static String resource(String file) {
        try (InputStream in = CudaKernels.class.getResourceAsStream("kernels/" + file)) {
            if (in == null) {
                throw new IllegalStateException("kernel source kernels/" + file + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() {
        modules.values().forEach(KernelModule::close);
        modules.clear();
    }
}
