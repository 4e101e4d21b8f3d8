package dev.graft.cli.bench;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.models.Module;
import dev.graft.models.SwinConfig;
import dev.graft.models.SwinTransformer;
import dev.graft.models.ViTConfig;
import dev.graft.models.VisionTransformer;
import dev.graft.models.optim.AdamW;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The Graft side of {@code bench/transformer_bench.sh}: one configuration of DeiT-S ({@link ViTConfig} {@code deit_s})
 * or Swin-T ({@link SwinConfig#swinT}) per process, built directly from the configs (random initialisation, 2
 * classes), on the cpu backend:
 * <ul>
 * <li>{@code train}: train mode (Swin's stochastic depth 0.2 as torchvision's default; DeiT has no dropout), zero
 * grad, cross-entropy of the forward pass, backward, AdamW(lr 1e-4, weight decay 0.05) over all parameters;</li>
 * <li>{@code infer}: eval mode, no gradient recording, one forward pass.</li>
 * </ul>
 * A fixed synthetic batch (Gaussian pixels, random labels) is reused every iteration; each iteration runs in its own
 * {@link Scope}. Writes one JSON object (median seconds, images per second, peak RSS of this process, CPU that
 * other processes used meanwhile) to {@code --out}; {@code --profile} prints the wall time per backend kernel.
 * Not a test; {@code bench/transformer_bench_torch.py} is the PyTorch side.
 *
 * <pre>
 * java -cp ... dev.graft.cli.bench.TransformerBench --arch deit_s|swin_t --kind train|infer --batch 32
 *      [--image-size 224] [--warmup 2] [--iters 5] [--min-time 10] [--max-iters 200] [--profile] [--out FILE]
 * </pre>
 */
public final class TransformerBench {
    private TransformerBench() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + args[i] + "' (options are --name value)");
            }
            String k = args[i].substring(2);
            if (k.equals("profile")) {
                a.put(k, "true");
            } else if (i + 1 < args.length) {
                a.put(k, args[++i]);
            } else {
                throw new IllegalArgumentException("--" + k + " needs a value");
            }
        }
        String arch = a.getOrDefault("arch", "deit_s");
        String kind = a.getOrDefault("kind", "train");
        int batch = Integer.parseInt(a.getOrDefault("batch", "32"));
        int size = Integer.parseInt(a.getOrDefault("image-size", "224"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "2"));
        int iters = Integer.parseInt(a.getOrDefault("iters", "5"));
        double minTime = Double.parseDouble(a.getOrDefault("min-time", "10"));
        int maxIters = Integer.parseInt(a.getOrDefault("max-iters", "200"));
        boolean profile = a.containsKey("profile");
        if (!kind.equals("train") && !kind.equals("infer")) {
            throw new IllegalArgumentException("--kind must be train or infer, got " + kind);
        }
        Device dev = Device.CPU;
        // installed before the model and the images exist: a kernel dispatches on its inputs' backend, so arrays made
        // earlier (the parameters, the input batch) would route a model's work past the profiler (Swin's whole
        // forward starts from the images and its cached masks; the optimizer only touches parameters)
        KernelProfile kernels = profile ? KernelProfile.install(dev) : null;
        Module model;
        AutoCloseable owner;
        if (arch.equals("deit_s")) {
            VisionTransformer m = VisionTransformer.create(ViTConfig.named("deit_s", 2).withImageSize(size), dev, DType.F32, 0);
            model = m;
            owner = m;
        } else if (arch.equals("swin_t")) {
            SwinTransformer m = new SwinTransformer(SwinConfig.swinT(2), dev, DType.F32).seed(0);
            SwinTransformer.initialize(m, 0);
            model = m;
            owner = m;
        } else {
            throw new IllegalArgumentException("--arch must be deit_s or swin_t, got " + arch);
        }
        boolean train = kind.equals("train");
        if (train) {
            model.train();
        } else {
            model.eval();
        }
        Scope data = Scope.detached("transformer-bench");
        double[] sink = new double[1];
        try (Scope.Entered in = data.enter()) {
            Random r = new Random(1234);
            float[] px = new float[batch * 3 * size * size];
            for (int i = 0; i < px.length; i++) {
                px[i] = (float) r.nextGaussian();
            }
            int[] labels = new int[batch];
            for (int i = 0; i < batch; i++) {
                labels[i] = r.nextInt(2);
            }
            Tensor images = Tensor.fromArray(dev, px, batch, 3, size, size);
            AdamW opt = train ? AdamW.builder().lr(1e-4).weightDecay(0.05).build(model.trainableParameters()) : null;
            // zero grad, forward + loss, backward, optimizer step, scope close: this thread's CPU ns (with one oneDNN
            // thread the work runs here, so the split does not depend on what else the machine runs)
            long[] phases = new long[5];
            java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
            Runnable step = train ? () -> {
                long t0 = cpu.getCurrentThreadCpuTime();
                long t4;
                try (Scope s = Scope.open("step")) {
                    opt.zeroGrad();
                    long t1 = cpu.getCurrentThreadCpuTime();
                    Tensor loss = Functional.crossEntropy(model.forward(images), labels);
                    long t2 = cpu.getCurrentThreadCpuTime();
                    loss.backward();
                    long t3 = cpu.getCurrentThreadCpuTime();
                    opt.step();
                    sink[0] += loss.toFloatArray()[0];
                    t4 = cpu.getCurrentThreadCpuTime();
                    phases[0] += t1 - t0;
                    phases[1] += t2 - t1;
                    phases[2] += t3 - t2;
                    phases[3] += t4 - t3;
                }
                phases[4] += cpu.getCurrentThreadCpuTime() - t4;
            } : () -> {
                try (Scope s = Scope.open("infer"); Grad.Mode off = Grad.off()) {
                    sink[0] += model.forward(images).toFloatArray()[0];
                }
            };
            TimedLoop.Result res = new TimedLoop(warmup, iters, minTime, maxIters).run(step, () -> {
                if (kernels != null) {
                    kernels.reset();
                }
                java.util.Arrays.fill(phases, 0);
            });
            double median = res.median();
            String name = arch + "_" + kind + "_b" + batch;
            double wall = res.seconds().stream().mapToDouble(Double::doubleValue).sum();
            System.out.printf(Locale.ROOT, "graft %-18s median %9.1f ms  %8.2f img/s  peak RSS %6.0f MiB  (%d iters, bg CPU %.2f,"
                            + " process CPU %.1f ms per iteration)%n", name, median * 1e3, batch / median, ProcessStats.peakRssMib(),
                    res.seconds().size(), res.othersCpu(), res.selfCpu() * wall / res.seconds().size() * 1e3);
            if (train) {
                int it = res.seconds().size();
                System.out.printf(Locale.ROOT, "  main thread CPU per iteration: zero grad %.1f ms, forward + loss %.1f ms, backward %.1f ms,"
                                + " optimizer step %.1f ms, freeing the step's scope %.1f ms%n", phases[0] / 1e6 / it, phases[1] / 1e6 / it,
                        phases[2] / 1e6 / it, phases[3] / 1e6 / it, phases[4] / 1e6 / it);
            }
            if (kernels != null) {
                System.out.print(kernels.report(res.seconds().size(), 25));
            }
            String out = a.get("out");
            if (out != null) {
                StringBuilder times = new StringBuilder();
                for (double t : res.seconds()) {
                    times.append(times.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.6f", t));
                }
                String json = String.format(Locale.ROOT,
                        "{\"side\": \"graft\", \"config\": \"%s\", \"arch\": \"%s\", \"kind\": \"%s\", \"batch\": %d, \"image_size\": %d,"
                                + " \"median_s\": %.6f, \"min_s\": %.6f, \"img_per_s_median\": %.4f, \"peak_rss_mib\": %.1f,"
                                + " \"self_cpu_per_wall\": %.3f, \"others_cpu_per_wall\": %.3f, \"times_s\": [%s]}%n",
                        name, arch, kind, batch, size, median, res.min(), batch / median, ProcessStats.peakRssMib(),
                        res.selfCpu(), res.othersCpu(), times);
                Path p = Path.of(out);
                Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
                Files.writeString(tmp, json);
                Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            if (opt != null) {
                opt.zeroGrad();
                opt.close();
            }
        } finally {
            data.close();
            try {
                owner.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
