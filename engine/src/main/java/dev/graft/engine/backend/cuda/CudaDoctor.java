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

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code graft doctor} for the engine alone (no CLI module needed): which backends are usable and why not, what
 * {@code --device auto} picks, and, where CUDA is usable, a smoke run on cuda:0 (NVRTC compile, a cuDNN
 * convolution, cuBLAS gemm) checked output by output against the reference backend within {@link SmokeCheck}'s
 * stated tolerance, with the allocator's counters. {@code graft doctor} runs the same {@link #smoke()}.
 *
 * <p>{@code java -cp ... dev.graft.engine.backend.cuda.CudaDoctor [--require-cuda]}: exit status 0, or 1 when
 * {@code --require-cuda} is given and CUDA is unusable or the smoke run fails (an error, or a result beyond the
 * tolerance).
 */
public final class CudaDoctor {
    private CudaDoctor() {
    }

    /**
     * What the smoke run found: the device, one {@link SmokeCheck} per output compared, the time of the first run
     * (NVRTC compile and cuDNN setup included) and the allocator's counters afterwards.
     */
    public record Smoke(String device, List<SmokeCheck> checks, double firstRunMillis, String resources) {
        public boolean passed() {
            return checks.stream().allMatch(SmokeCheck::passed);
        }
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
        Smoke smoke;
        try {
            smoke = smoke();
        } catch (RuntimeException e) {
            System.out.println("cuda smoke run FAILED: " + e);
            e.printStackTrace(System.out);
            System.exit(require ? 1 : 0);
            return;
        }
        print(smoke);
        System.exit(!smoke.passed() && require ? 1 : 0);
    }

    /** The smoke report, one line per check, as CudaDoctor and {@code graft doctor} print it. */
    public static void print(Smoke smoke) {
        System.out.println("cuda:0 " + smoke.device());
        System.out.printf(Locale.ROOT, "  smoke run against the reference (first run incl. NVRTC compile and cuDNN setup %.0f ms):%n",
                smoke.firstRunMillis());
        for (SmokeCheck c : smoke.checks()) {
            System.out.println("    " + c.describe());
        }
        System.out.println("  " + smoke.resources());
        System.out.println(smoke.passed() ? "cuda smoke run OK" : "cuda smoke run FAILED: a result differs from the reference "
                + "beyond its tolerance");
    }

    /**
     * Runs conv2d + relu, a sum over it and a gemm on cuda:0 and the same on the reference backend in F64 from the
     * same float inputs; CUDA must be available. Prints nothing.
     */
    public static Smoke smoke() {
        CudaBackend gpu = (CudaBackend) Backends.get(Device.cuda(0));
        Backend ref = Backends.get(Device.REFERENCE);
        double u = SmokeCheck.unitRoundoff(gpu.mathMode());
        List<SmokeCheck> checks = new ArrayList<>();
        double millis;
        try (Scope s = Scope.open("doctor")) {
            long t0 = System.nanoTime();
            // NCHW input, OIHW weights, as torchvision; each output sums 8 channels x 3 x 3 = 72 products.
            float[] xv = values(2 * 8 * 16 * 16, 1);
            float[] wv = values(16 * 8 * 3 * 3, 2);
            NDArray x = gpu.fromHost(xv, Shape.of(2, 8, 16, 16));
            NDArray w = gpu.fromHost(wv, Shape.of(16, 8, 3, 3));
            NDArray y = gpu.relu(gpu.conv2d(x, w, null, Conv2dSpec.of(1, 1)));
            NDArray sum = gpu.sumTo(y, Shape.scalar());
            NDArray g = gpu.gemm(w.reshape(Shape.of(16, 72)), w.reshape(Shape.of(16, 72)), false, true);
            float[] yGot = y.toFloatArray();
            float[] sumGot = sum.toFloatArray();
            float[] gGot = g.toFloatArray();
            millis = (System.nanoTime() - t0) / 1e6;

            NDArray xr = ref.fromHost(doubles(xv), x.shape(), DType.F64);
            NDArray wr = ref.fromHost(doubles(wv), w.shape(), DType.F64);
            NDArray yr = ref.relu(ref.conv2d(xr, wr, null, Conv2dSpec.of(1, 1)));
            NDArray gr = ref.gemm(wr.reshape(Shape.of(16, 72)), wr.reshape(Shape.of(16, 72)), false, true);
            checks.add(SmokeCheck.compare("conv2d+relu " + y.shape(), yGot, yr.toDoubleArray(), 72, u));
            // The relu outputs are non-negative, so the sum is its own scale; their own errors average out in it.
            checks.add(SmokeCheck.compare("sum of " + y.shape().numel(), sumGot, ref.sumTo(yr, Shape.scalar()).toDoubleArray(),
                    y.shape().numel(), u));
            checks.add(SmokeCheck.compare("gemm " + g.shape(), gGot, gr.toDoubleArray(), 72, u));
        }
        String resources = "allocator: " + gpu.memoryStats() + "; cuDNN workspace " + AllocatorStats.mib(gpu.workspaceBytes())
                + "; NVRTC images compiled " + NvrtcCompiler.cachedImages() + "; math " + gpu.mathMode();
        return new Smoke(gpu.description(), List.copyOf(checks), millis, resources);
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
