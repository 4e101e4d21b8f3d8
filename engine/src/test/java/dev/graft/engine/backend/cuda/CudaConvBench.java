package dev.graft.engine.backend.cuda;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Kernel-level benchmark (not a test): cuDNN convolution forward, backward-data and backward-filter on every
 * distinct convolution of torchvision's ResNet-50 at batch 64, 224x224 input, in exact (FP32) and fast (TF32)
 * math. Times are per call, averaged over {@code --iters} calls after {@code --warmup} (the first warm-up call
 * includes the algorithm choice), with the stream synchronised around the timed loop; outputs are allocated
 * each call from the caching allocator, as in training. {@code bench/gpu/torch_conv_bench.py} times the same
 * shapes in PyTorch and prints ratios.
 *
 * <pre>run.sh --main dev.graft.engine.backend.cuda.CudaConvBench [--batch 64] [--warmup 3] [--iters 10]
 *        [--modes exact,fast] [--json FILE] [--quick]</pre>
 */
public final class CudaConvBench {

    /** One distinct ResNet-50 convolution: input [N, c, hw, hw], weights [k, c, r, r], and how often it occurs. */
    record Layer(String name, int c, int k, int hw, int r, int stride, int pad, int count) {
        Shape x(int n) {
            return Shape.of(n, c, hw, hw);
        }

        Shape w() {
            return Shape.of(k, c, r, r);
        }

        Conv2dSpec spec() {
            return Conv2dSpec.of(stride, pad);
        }

        /** Multiply-adds of one pass (the three passes are equal) at batch n, as FLOP (x2). */
        double flop(int n) {
            int out = Conv2dSpec.outputSize(hw, r, stride, pad, 1);
            return 2.0 * n * k * out * out * c * r * r;
        }
    }

    /** torchvision resnet50 (v1.5: stride on the 3x3), 224x224 input: 23 distinct shapes, 53 convolutions. */
    static final List<Layer> RESNET50 = List.of(
            new Layer("conv1", 3, 64, 224, 7, 2, 3, 1),
            new Layer("layer1.0.conv1", 64, 64, 56, 1, 1, 0, 1),
            new Layer("layer1.x.conv2", 64, 64, 56, 3, 1, 1, 3),
            new Layer("layer1.x.conv3+ds", 64, 256, 56, 1, 1, 0, 4),
            new Layer("layer1.x.conv1", 256, 64, 56, 1, 1, 0, 2),
            new Layer("layer2.0.conv1", 256, 128, 56, 1, 1, 0, 1),
            new Layer("layer2.0.conv2", 128, 128, 56, 3, 2, 1, 1),
            new Layer("layer2.x.conv3", 128, 512, 28, 1, 1, 0, 4),
            new Layer("layer2.0.downsample", 256, 512, 56, 1, 2, 0, 1),
            new Layer("layer2.x.conv1", 512, 128, 28, 1, 1, 0, 3),
            new Layer("layer2.x.conv2", 128, 128, 28, 3, 1, 1, 3),
            new Layer("layer3.0.conv1", 512, 256, 28, 1, 1, 0, 1),
            new Layer("layer3.0.conv2", 256, 256, 28, 3, 2, 1, 1),
            new Layer("layer3.x.conv3", 256, 1024, 14, 1, 1, 0, 6),
            new Layer("layer3.0.downsample", 512, 1024, 28, 1, 2, 0, 1),
            new Layer("layer3.x.conv1", 1024, 256, 14, 1, 1, 0, 5),
            new Layer("layer3.x.conv2", 256, 256, 14, 3, 1, 1, 5),
            new Layer("layer4.0.conv1", 1024, 512, 14, 1, 1, 0, 1),
            new Layer("layer4.0.conv2", 512, 512, 14, 3, 2, 1, 1),
            new Layer("layer4.x.conv3", 512, 2048, 7, 1, 1, 0, 3),
            new Layer("layer4.0.downsample", 1024, 2048, 14, 1, 2, 0, 1),
            new Layer("layer4.x.conv1", 2048, 512, 7, 1, 1, 0, 2),
            new Layer("layer4.x.conv2", 512, 512, 7, 3, 1, 1, 2));

    private CudaConvBench() {
    }

    public static void main(String[] args) throws Exception {
        int batch = 64;
        int warmup = 3;
        int iters = 10;
        String modes = "exact,fast";
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--iters" -> iters = Integer.parseInt(args[++i]);
                case "--modes" -> modes = args[++i];
                case "--json" -> json = Path.of(args[++i]);
                case "--quick" -> {
                    batch = 8;
                    warmup = 1;
                    iters = 3;
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; use --batch N --warmup N --iters N --modes exact,fast --json FILE --quick");
            }
        }
        CudaInfo info = CudaProbe.run();
        StringBuilder out = new StringBuilder();
        out.append("{\n  \"tool\": \"graft-cuda\",\n  \"device\": \"").append(info.devices().get(0)).append("\",\n  \"libraries\": \"")
                .append(info.libraries()).append("\",\n  \"batch\": ").append(batch).append(",\n  \"iters\": ").append(iters)
                .append(",\n  \"runs\": [");
        String[] modeList = modes.split(",");
        for (int m = 0; m < modeList.length; m++) {
            MathMode mode = MathMode.parse(modeList[m], "--modes");
            try (CudaBackend gpu = CudaBackend.open(info, 0, mode)) {
                out.append(m == 0 ? "\n" : ",\n").append(run(gpu, mode, batch, warmup, iters));
            }
        }
        out.append("\n  ]\n}\n");
        if (json != null) {
            Files.writeString(json, out);
            System.out.println("wrote " + json);
        }
    }

    private static String run(CudaBackend gpu, MathMode mode, int batch, int warmup, int iters) {
        System.out.printf("%n%s, batch %d, %s: ms per call (TFLOP/s)%n", gpu.device(), batch, mode);
        System.out.printf("%-22s %5s %18s %18s %18s %9s%n", "layer", "count", "forward", "backward-data", "backward-filter", "1st fwd");
        List<String> rows = new ArrayList<>();
        double[] total = new double[3];
        for (Layer l : RESNET50) {
            double[] ms = new double[3];
            double first;
            try (Scope s = Scope.open("bench")) {
                NDArray x = gpu.empty(DType.F32, l.x(batch), Layout.ROW_MAJOR);
                NDArray w = gpu.empty(DType.F32, l.w(), Layout.ROW_MAJOR);
                gpu.fill(x, 0.5);
                gpu.fill(w, 0.01);
                NDArray dy;
                try (Scope once = Scope.open("first")) {
                    long t0 = System.nanoTime();
                    gpu.conv2d(x, w, null, l.spec());
                    gpu.synchronize();
                    first = (System.nanoTime() - t0) / 1e6;
                }
                dy = gpu.conv2d(x, w, null, l.spec());
                gpu.fill(dy, 0.001);
                for (int pass = 0; pass < 3; pass++) {
                    final int p = pass;
                    Runnable call = () -> {
                        try (Scope it = Scope.open("call")) {
                            switch (p) {
                                case 0 -> gpu.conv2d(x, w, null, l.spec());
                                case 1 -> gpu.conv2dBackwardData(dy, w, x.shape(), l.spec());
                                default -> gpu.conv2dBackwardWeights(dy, x, w.shape(), l.spec());
                            }
                        }
                    };
                    for (int i = 0; i < warmup; i++) {
                        call.run();
                    }
                    gpu.synchronize();
                    long t0 = System.nanoTime();
                    for (int i = 0; i < iters; i++) {
                        call.run();
                    }
                    gpu.synchronize();
                    ms[pass] = (System.nanoTime() - t0) / 1e6 / iters;
                    total[pass] += ms[pass] * l.count();
                }
            }
            gpu.emptyCache(); // outside the timed loops: keeps every layer's sizes from piling up in the cache
            double f = l.flop(batch);
            System.out.printf("%-22s %5d %9.3f (%5.1f) %9.3f (%5.1f) %9.3f (%5.1f) %9.1f%n", l.name(), l.count(),
                    ms[0], f / ms[0] / 1e9, ms[1], f / ms[1] / 1e9, ms[2], f / ms[2] / 1e9, first);
            rows.add(String.format(Locale.ROOT, "        {\"name\": \"%s\", \"x\": [%d, %d, %d, %d], \"w\": [%d, %d, %d, %d], \"stride\": %d, "
                            + "\"pad\": %d, \"count\": %d, \"fwd_ms\": %.4f, \"bwd_data_ms\": %.4f, \"bwd_filter_ms\": %.4f}",
                    l.name(), batch, l.c(), l.hw(), l.hw(), l.k(), l.c(), l.r(), l.r(), l.stride(), l.pad(), l.count(), ms[0], ms[1], ms[2]));
        }
        System.out.printf("ResNet-50 convolutions, one training step (each shape x its count): forward %.1f ms, backward-data %.1f ms, "
                + "backward-filter %.1f ms, total %.1f ms; allocator %s%n", total[0], total[1], total[2], total[0] + total[1] + total[2],
                gpu.memoryStats());
        return String.format(Locale.ROOT, "    {\"mode\": \"%s\", \"total_ms\": {\"fwd\": %.3f, \"bwd_data\": %.3f, \"bwd_filter\": %.3f},\n"
                + "      \"layers\": [\n%s\n      ]}", mode.name().toLowerCase(Locale.ROOT), total[0], total[1], total[2], String.join(",\n", rows));
    }
}
