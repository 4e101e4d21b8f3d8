package dev.graft.engine.bench;

import dev.graft.engine.Device;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What the non-finite checks of the cpu backend's fused inference convolution cost (not a test; run by hand). With
 * relu, {@code conv2dInference} needs a bound on its operands' values to know that no NaN can reach oneDNN's relu
 * post-op (which would make it 0; see CpuFusedConvolution): the bound an earlier kernel recorded for x and the
 * residual, or else a scan of them. Without relu it needs nothing. For every distinct ResNet-50 convolution at
 * 224x224 this times three calls, alternating them in each iteration so that load from other processes hits all
 * alike, and reports medians: without relu (no check); with relu where x and the residual have no recorded bound
 * (their versions are bumped before each call, so both are scanned: what an arbitrary caller pays); and with relu where
 * they have one (what a network compiled for inference pays after its input image: a lookup and a few multiplies).
 * Convolutions with a 1x1 kernel and four times as many outputs as inputs (a bottleneck's conv3, which adds the
 * block's shortcut) are timed with a residual. Totals weight each shape by its occurrences in ResNet-50 (a
 * bottleneck's conv3 shape also occurs as layer1's downsample, which has no relu: an upper bound).
 *
 * <p>Usage: {@code NonFiniteCheckBench [--batch 32] [--iters 9]}; set OMP_NUM_THREADS to fix the thread count.
 */
public final class NonFiniteCheckBench {
    private NonFiniteCheckBench() {
    }

    public static void main(String[] args) {
        int batch = 32;
        int iters = 9;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(args[i + 1]);
                case "--iters" -> iters = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Backend cpu = Backends.get(Device.CPU);
        System.out.println("# " + cpu.description());
        System.out.printf("# batch %d, 2 warm-up + %d timed iterations, medians in ms%n", batch, iters);
        System.out.printf("%-26s %5s %9s %9s %7s %9s %7s%n", "layer", "count", "no relu", "relu+scan", "scan %",
                "relu+bnd", "bnd %");
        double[] total = new double[3];
        for (ResNetConvShapes.Occurrence o : ResNetConvShapes.distinct()) {
            ResNetConvShapes.Conv c = o.conv();
            if (o.inResNet50() == 0) {
                continue;
            }
            boolean residual = c.r() == 1 && c.k() == 4 * c.c();
            double[] t = time(cpu, c, batch, residual, iters);
            for (int v = 0; v < 3; v++) {
                total[v] += o.inResNet50() * t[v];
            }
            System.out.printf(Locale.ROOT, "%-26s %5d %9.2f %9.2f %6.1f%% %9.2f %6.1f%%%n", c + (residual ? " +res" : ""),
                    o.inResNet50(), t[0], t[1], 100 * (t[1] - t[0]) / t[0], t[2], 100 * (t[2] - t[0]) / t[0]);
        }
        System.out.printf(Locale.ROOT, "# ResNet-50 convolutions, weighted by occurrence: %.1f ms without relu; with relu, "
                + "scanning every operand %.1f ms (%+.1f%%), with recorded bounds %.1f ms (%+.1f%%)%n", total[0], total[1],
                100 * (total[1] - total[0]) / total[0], total[2], 100 * (total[2] - total[0]) / total[0]);
    }

    /** Medians in ms of {without relu, with relu scanning x and the residual, with relu and their bounds recorded}. */
    private static double[] time(Backend cpu, ResNetConvShapes.Conv c, int batch, boolean withResidual, int iters) {
        double[][] t = new double[3][iters];
        try (Scope scope = Scope.open("bench")) {
            NDArray x = upload(cpu, c.x(batch), 1, !c.isStem());
            NDArray w = upload(cpu, c.w(), 2, false);
            NDArray bias = upload(cpu, Shape.of(c.k()), 3, false);
            Shape ys = Shape.of(batch, c.k(), c.out(), c.out());
            NDArray residual = withResidual ? upload(cpu, ys, 4, true) : null;
            NDArray out = cpu.empty(x.dtype(), ys, Layout.CHANNELS_LAST);
            for (int i = -2; i < iters; i++) {
                for (int v = 0; v < 3; v++) {
                    if (v == 1) {
                        x.buffer().bumpVersion(); // forget the bounds: the call scans both again
                        if (residual != null) {
                            residual.buffer().bumpVersion();
                        }
                    }
                    long t0 = System.nanoTime();
                    cpu.conv2dInference(x, w, bias, residual, v > 0, c.spec(), out);
                    long t1 = System.nanoTime();
                    if (i >= 0) {
                        t[v][i] = (t1 - t0) / 1e6;
                    }
                }
            }
        }
        return new double[] {ConvBench.median(t[0]), ConvBench.median(t[1]), ConvBench.median(t[2])};
    }

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
}
