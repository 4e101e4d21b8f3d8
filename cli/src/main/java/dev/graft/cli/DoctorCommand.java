package dev.graft.cli;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Availability;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.cuda.CudaDoctor;
import dev.graft.engine.backend.cuda.SmokeCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * Self-check: reports every backend (version, or exactly why it is unavailable), then runs a small
 * conv-bn-relu-pool-linear network forward and backward on each available one and compares the loss and
 * gradients with the reference backend; where CUDA is usable, also {@link CudaDoctor}'s smoke run, output by output
 * within {@link SmokeCheck}'s tolerance. Exit 0 when everything available agrees with the reference, else 1; with
 * {@code --require-cuda} also 1 when CUDA is unusable.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Report backends and run a forward and backward pass on each available one.")
final class DoctorCommand implements Callable<Integer> {
    /** F32 agreement with the reference (which accumulates in double) on a network this small. */
    private static final double TOLERANCE = 1e-4;

    @Option(names = "--require-cuda", description = "Exit 1 unless CUDA is usable and its smoke run matches the reference.")
    boolean requireCuda;

    /** The exit code and the last line: what passed, or what failed and why. */
    record Verdict(int exitCode, String message) {
    }

    @Override
    public Integer call() {
        System.out.println("Java " + Runtime.version() + " on " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores, OMP_NUM_THREADS="
                + System.getenv().getOrDefault("OMP_NUM_THREADS", "(unset)"));
        List<Device> usable = new ArrayList<>();
        for (Device.Kind kind : Device.Kind.values()) {
            Availability a = Backends.availability(kind);
            String name = kind.name().toLowerCase();
            System.out.printf("  %-9s %s  %s%n", name, a.available() ? "available  " : "unavailable", a.detail());
            if (a.available()) {
                for (int i = 0; i < Backends.deviceCount(kind); i++) {
                    usable.add(new Device(kind, i));
                }
            }
        }
        System.out.println("auto selects: " + Backends.resolve("auto").device());
        Check reference = run(Device.REFERENCE);
        boolean ok = true;
        for (Device d : usable) {
            Check c = d.equals(Device.REFERENCE) ? reference : run(d);
            double diff = c.maxRelativeDifference(reference);
            boolean pass = diff <= TOLERANCE;
            ok &= pass;
            System.out.printf("  %-9s forward+backward: loss %.6f, %d gradients, max relative difference to reference %.2e  %s%n",
                    d, c.loss, c.grads.size(), diff, pass ? "OK" : "FAILED (tolerance " + TOLERANCE + ")");
        }
        Availability cuda = Backends.availability(Device.Kind.CUDA);
        CudaDoctor.Smoke smoke = null;
        if (cuda.available()) {
            try {
                smoke = CudaDoctor.smoke();
                CudaDoctor.print(smoke);
            } catch (RuntimeException e) {
                System.out.println("cuda smoke run FAILED: " + e);
            }
        }
        Verdict v = verdict(ok, requireCuda, cuda, smoke);
        (v.exitCode() == 0 ? System.out : System.err).println("graft doctor: " + v.message());
        return v.exitCode();
    }

    /**
     * 0 when every available backend agrees with the reference and, where CUDA is available, its smoke run ran
     * ({@code smoke} not null) and passed; else 1. {@code requireCuda} makes an unavailable CUDA a failure too.
     */
    static Verdict verdict(boolean backendsAgree, boolean requireCuda, Availability cuda, CudaDoctor.Smoke smoke) {
        if (!backendsAgree) {
            return new Verdict(1, "a backend disagrees with the reference");
        }
        if (cuda.available() && smoke == null) {
            return new Verdict(1, "the cuda smoke run failed with an error (above)");
        }
        if (smoke != null && !smoke.passed()) {
            List<String> failed = smoke.checks().stream().filter(c -> !c.passed()).map(SmokeCheck::what).toList();
            return new Verdict(1, "the cuda smoke run differs from the reference beyond its tolerance: " + String.join(", ", failed));
        }
        if (requireCuda && !cuda.available()) {
            return new Verdict(1, "--require-cuda: CUDA is not usable here: " + cuda.detail());
        }
        return new Verdict(0, "all available backends agree" + (smoke != null ? ", cuda smoke run included" : ""));
    }

    private record Check(double loss, List<float[]> grads) {
        double maxRelativeDifference(Check ref) {
            double worst = Math.abs(loss - ref.loss) / Math.max(1e-6, Math.abs(ref.loss));
            for (int i = 0; i < grads.size(); i++) {
                float[] a = grads.get(i);
                float[] b = ref.grads.get(i);
                double scale = 1e-6;
                for (float v : b) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int j = 0; j < a.length; j++) {
                    worst = Math.max(worst, Math.abs(a[j] - b[j]) / scale);
                }
            }
            return worst;
        }
    }

    /** conv 3x3 (8 ch) - batch norm - relu - max pool - global average pool - linear (3 classes) - cross-entropy. */
    private static Check run(Device d) {
        try (Scope scope = Scope.open("doctor")) {
            Random r = new Random(7);
            Tensor x = Tensor.fromArray(d, random(r, 4 * 3 * 16 * 16), 4, 3, 16, 16);
            Tensor w = Tensor.fromArray(d, random(r, 8 * 3 * 3 * 3), 8, 3, 3, 3).requiresGrad(true);
            Tensor gamma = Tensor.full(d, DType.F32, 1, 8).requiresGrad(true);
            Tensor beta = Tensor.zeros(d, DType.F32, 8).requiresGrad(true);
            Tensor fcW = Tensor.fromArray(d, random(r, 3 * 8), 3, 8).requiresGrad(true);
            Tensor fcB = Tensor.zeros(d, DType.F32, 3).requiresGrad(true);
            Tensor h = Functional.conv2d(x, w, null, Conv2dSpec.of(1, 1));
            h = Functional.batchNorm2d(h, gamma, beta, null, null, true, 0.1, 1e-5).relu();
            h = Functional.maxPool2d(h, Pool2dSpec.of(3, 2, 1));
            h = Functional.adaptiveAvgPool2d(h, 1).flatten(1);
            Tensor loss = Functional.crossEntropy(Functional.linear(h, fcW, fcB), new int[] {0, 1, 2, 1});
            loss.backward();
            List<float[]> grads = new ArrayList<>();
            for (Tensor p : new Tensor[] {w, gamma, beta, fcW, fcB}) {
                grads.add(p.grad().toFloatArray());
            }
            return new Check(loss.item(), grads);
        }
    }

    private static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }
}
