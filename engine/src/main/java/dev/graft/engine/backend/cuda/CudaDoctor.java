package dev.graft.engine.backend.cuda;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Conv2dSpec;

import java.util.Locale;

/**
 * {@code graft doctor} for the engine alone (no CLI module needed): which backends are usable and why not, what
 * {@code --device auto} picks, and, where CUDA is usable, a smoke run on cuda:0 (NVRTC compile, a cuDNN
 * convolution, cuBLAS gemm) checked against the reference backend, with the allocator's counters.
 *
 * <p>{@code java -cp ... dev.graft.engine.backend.cuda.CudaDoctor [--require-cuda]}: exit status 0, or 1 when
 * {@code --require-cuda} is given and CUDA is unusable or the smoke run fails.
 */
public final class CudaDoctor {
    private CudaDoctor() {
    }

    public static void main(String[] args) {
        boolean require = args.length > 0 && args[0].equals("--require-cuda");
        System.out.println("Graft backends (Java " + Runtime.version() + ", " + System.getProperty("os.name") + "/"
                + System.getProperty("os.arch") + ")");
        for (Device.Kind k : Device.Kind.values()) {
            Availability a = Backends.availability(k);
            System.out.printf("  %-9s %s  %s%n", k.name().toLowerCase(Locale.ROOT), a.available() ? "yes" : "no ", a.detail());
        }
        Backends.Selection auto = Backends.resolve("auto");
        System.out.println("--device auto -> " + auto.device());
        auto.notes().forEach(n -> System.out.println("  " + n));
        if (!Backends.availability(Device.Kind.CUDA).available()) {
            System.exit(require ? 1 : 0);
        }
        try {
            smoke((CudaBackend) Backends.get(Device.cuda(0)));
        } catch (RuntimeException e) {
            System.out.println("cuda smoke run FAILED: " + e);
            e.printStackTrace(System.out);
            System.exit(require ? 1 : 0);
        }
    }

    private static void smoke(CudaBackend gpu) {
        Backend ref = Backends.get(Device.REFERENCE);
        System.out.println("cuda:0 " + gpu.description());
        try (Scope s = Scope.open("doctor")) {
            long t0 = System.nanoTime();
            float[] xv = values(2 * 8 * 16 * 16, 1);
            float[] wv = values(16 * 8 * 3 * 3, 2);
            NDArray x = gpu.fromHost(xv, Shape.of(2, 8, 16, 16));
            NDArray w = gpu.fromHost(wv, Shape.of(16, 8, 3, 3));
            NDArray y = gpu.relu(gpu.conv2d(x, w, null, Conv2dSpec.of(1, 1)));
            double sum = gpu.sumTo(y, Shape.scalar()).toDoubleArray()[0];
            long t1 = System.nanoTime();
            NDArray yr = ref.relu(ref.conv2d(ref.fromHost(doubles(xv), x.shape(), DType.F64),
                    ref.fromHost(doubles(wv), w.shape(), DType.F64), null, Conv2dSpec.of(1, 1)));
            double want = ref.sumTo(yr, Shape.scalar()).toDoubleArray()[0];
            NDArray g = gpu.gemm(w.reshape(Shape.of(16, 72)), w.reshape(Shape.of(16, 72)), false, true);
            System.out.printf("  smoke: conv2d+relu+sum on cuda = %.6f, reference = %.6f (relative difference %.2e); "
                            + "first run incl. NVRTC compile and cuDNN setup %.0f ms; gemm %s ok%n",
                    sum, want, Math.abs(sum - want) / Math.max(1e-30, Math.abs(want)), (t1 - t0) / 1e6, g.shape());
        }
        System.out.println("  allocator: " + gpu.memoryStats() + "; cuDNN workspace " + AllocatorStats.mib(gpu.workspaceBytes())
                + "; NVRTC images compiled " + NvrtcCompiler.cachedImages());
    }

    private static float[] values(int n, int seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextFloat() * 2 - 1;
        }
        return v;
    }

    private static double[] doubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
