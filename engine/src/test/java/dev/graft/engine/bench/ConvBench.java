package dev.graft.engine.bench;

import dev.graft.engine.Device;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.cpu.CpuBackend;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Times conv2d forward, backward-data and backward-weights on the {@code cpu} backend for every distinct
 * ResNet-18/50 convolution at 224x224 (not a test: run by {@code bench/conv_bench.sh}, which times PyTorch on the
 * same shapes in the same run). Activations and output gradients are channels-last, as the backend produces
 * them inside a network, except the stem's input, an image batch uploaded row-major (NCHW) and reordered by the
 * convolution as in real training. The stem skips backward-data: nobody needs the image's gradient. Before
 * every iteration the weight buffer's version is bumped, as an optimizer step would, so the weight reorders
 * into oneDNN's blocked layouts (forward, backward-data) and the weight-gradient reorder back to OIHW are timed,
 * as PyTorch's are. Reports medians after warm-up, in milliseconds, as JSON.
 *
 * <p>Usage: {@code ConvBench [--batch 32] [--warmup 2] [--iters 5] [--out file.json] [--only SUBSTRING]}
 */
public final class ConvBench {
    private ConvBench() {
    }

    public static void main(String[] args) throws IOException {
        int batch = 32;
        int warmup = 2;
        int iters = 5;
        String out = null;
        String only = null;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--iters" -> iters = Integer.parseInt(args[i + 1]);
                case "--out" -> out = args[i + 1];
                case "--only" -> only = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Backend cpu = Backends.get(Device.CPU);
        System.out.println("# " + cpu.description());
        System.out.printf("# batch %d, %d warm-up + %d timed iterations, medians in ms%n", batch, warmup, iters);
        System.out.printf("%-24s %9s %9s %9s %9s  %s%n", "layer", "fwd", "bwd-data", "bwd-wt", "total", "kernels");
        List<String> rows = new ArrayList<>();
        double sum = 0;
        long cpuStart = processCpuNanos();
        long wallStart = System.nanoTime();
        long[] busyStart = ProcStat.busyJiffies();
        for (ResNetConvShapes.Occurrence o : ResNetConvShapes.distinct()) {
            ResNetConvShapes.Conv c = o.conv();
            if (only != null && !c.toString().contains(only)) {
                continue;
            }
            double[][] t = time(cpu, c, batch, warmup, iters);
            double fwd = median(t[0]);
            double bwdData = c.isStem() ? 0 : median(t[1]);
            double bwdWeights = median(t[2]);
            double total = fwd + bwdData + bwdWeights;
            sum += total;
            List<String> kernels = ((CpuBackend) cpu).convolutionImplementations(c.x(batch), c.w(), c.spec());
            System.out.printf(Locale.ROOT, "%-24s %9.1f %9s %9.1f %9.1f  %s%n", c, fwd, c.isStem() ? "skipped" : String.format(Locale.ROOT, "%.1f", bwdData),
                    bwdWeights, total, kernels);
            rows.add(String.format(Locale.ROOT,
                    "{\"layer\":\"%s\",\"c\":%d,\"h\":%d,\"k\":%d,\"r\":%d,\"stride\":%d,\"pad\":%d,\"in_resnet18\":%d,"
                            + "\"in_resnet50\":%d,\"fwd_ms\":%.3f,\"bwd_data_ms\":%s,\"bwd_weights_ms\":%.3f,\"total_ms\":%.3f,"
                            + "\"fwd_all_ms\":%s,\"bwd_data_all_ms\":%s,\"bwd_weights_all_ms\":%s,\"kernels\":[\"%s\"]}",
                    c, c.c(), c.h(), c.k(), c.r(), c.stride(), c.pad(), o.inResNet18(), o.inResNet50(), fwd,
                    c.isStem() ? "null" : String.format(Locale.ROOT, "%.3f", bwdData), bwdWeights, total,
                    Arrays.toString(t[0]), Arrays.toString(t[1]), Arrays.toString(t[2]), String.join("\",\"", kernels)));
        }
        double wall = (System.nanoTime() - wallStart) / 1e9;
        double others = Math.max(0, (ProcStat.busyJiffies()[0] - busyStart[0]) / (double) ProcStat.HZ
                - (processCpuNanos() - cpuStart) / 1e9) / wall;
        System.out.printf(Locale.ROOT, "# sum of medians over %d shapes: %.1f ms; other processes used %.2f CPUs meanwhile%n",
                rows.size(), sum, others);
        if (out != null) {
            String json = String.format(Locale.ROOT,
                    "{\"engine\":\"graft cpu\",\"description\":\"%s\",\"batch\":%d,\"warmup\":%d,\"iters\":%d,"
                            + "\"others_cpu\":%.3f,\"wall_s\":%.1f,\"layers\":[%n%s%n]}%n",
                    cpu.description().replace("\"", "'"), batch, warmup, iters, others, wall, String.join(",\n", rows));
            Files.writeString(Path.of(out), json);
        }
    }

    /** Per-iteration milliseconds of {forward, backward-data, backward-weights}. */
    private static double[][] time(Backend cpu, ResNetConvShapes.Conv c, int batch, int warmup, int iters) {
        double[][] t = new double[3][iters];
        try (Scope scope = Scope.open("bench")) {
            Shape xs = c.x(batch);
            Shape ys = Shape.of(batch, c.k(), c.out(), c.out());
            NDArray x = upload(cpu, xs, 1, !c.isStem());
            NDArray w = upload(cpu, c.w(), 2, false);
            NDArray dy = upload(cpu, ys, 3, true);
            for (int i = -warmup; i < iters; i++) {
                w.buffer().bumpVersion();
                long t0 = System.nanoTime();
                cpu.conv2d(x, w, null, c.spec()).buffer().close();
                long t1 = System.nanoTime();
                if (!c.isStem()) {
                    cpu.conv2dBackwardData(dy, w, xs, c.spec()).buffer().close();
                }
                long t2 = System.nanoTime();
                cpu.conv2dBackwardWeights(dy, x, c.w(), c.spec()).buffer().close();
                long t3 = System.nanoTime();
                if (i >= 0) {
                    t[0][i] = (t1 - t0) / 1e6;
                    t[1][i] = (t2 - t1) / 1e6;
                    t[2][i] = (t3 - t2) / 1e6;
                }
            }
        }
        return t;
    }

    /** Uniform [-1, 1) values; channels-last when asked (the row-major upload is freed). */
    private static NDArray upload(Backend cpu, Shape s, long seed, boolean channelsLast) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[s.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        NDArray a = cpu.fromHost(v, s);
        if (!channelsLast) {
            return a;
        }
        NDArray cl = cpu.toLayout(a, Layout.CHANNELS_LAST);
        a.buffer().close();
        return cl;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Busy jiffies of all CPUs from /proc/stat (user+nice+system+irq+softirq+steal), as bench/torch_bench.py counts. */
    static final class ProcStat {
        static final int HZ = 100;

        static long[] busyJiffies() {
            try {
                String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
                long busy = 0;
                for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                    busy += i < f.length ? Long.parseLong(f[i]) : 0;
                }
                return new long[] {busy};
            } catch (IOException | RuntimeException e) {
                return new long[] {0};
            }
        }
    }
}
