package dev.graft.runtime;

import dev.graft.engine.Device;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.ResNet;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The Java side of {@code bench/inference_bench.sh} (a benchmark, not a test): batch-N inference latency of the
 * runtime on torchvision ResNets at 224x224, the way {@code bench/inference_bench_torch.py} times PyTorch.
 *
 * <ul>
 *   <li>{@code forward}: what the PyTorch side times: a preprocessed [N,3,224,224] batch in, logits out
 *       ({@link Classifier}'s forward: upload, folded and fused plan in a reused workspace, download).</li>
 *   <li>{@code forward-unfused}: the same through the plain eval forward pass ({@code optimize=false}): what the
 *       optimisations are worth.</li>
 *   <li>{@code forward-bf16} / {@code forward-int8} (with {@code --precisions fp32,bf16,int8}): {@code forward} in
 *       bf16, and in int8 from a file quantized on 16 random images (a timing, not an accuracy, figure).</li>
 *   <li>{@code classify-224} / {@code classify-512}: {@link Classifier#classify(BufferedImage)} end to end on a 224x224
 *       and a 512x512 RGB image (RGB conversion, resize to 256, centre crop, normalise, forward, softmax).</li>
 * </ul>
 * Models are random (torchvision's initialisation, seed 0), written once to {@code --models DIR} as safetensors.
 * Each measurement: {@code --warmup} calls, then at least {@code --min-iters} calls and {@code --min-seconds}
 * seconds, at most {@code --max-iters}; repeated (up to 3 attempts) while other processes kept more than 0.15 CPU
 * busy, the quietest attempt kept. Prints a table and writes JSON with every per-call time and the CPU other
 * processes used meanwhile (from /proc/stat).
 */
public final class InferenceBench {
    private InferenceBench() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> o = options(args);
        List<String> archs = List.of(o.getOrDefault("--arch", "resnet18,resnet50").split(","));
        int batch = Integer.parseInt(o.getOrDefault("--batch", "1"));
        int warmup = Integer.parseInt(o.getOrDefault("--warmup", "10"));
        int minIters = Integer.parseInt(o.getOrDefault("--min-iters", "30"));
        int maxIters = Integer.parseInt(o.getOrDefault("--max-iters", "300"));
        double minSeconds = Double.parseDouble(o.getOrDefault("--min-seconds", "5"));
        Path models = Path.of(o.getOrDefault("--models", "bench/out/models"));
        String device = o.getOrDefault("--device", "cpu");
        // --precisions fp32,bf16,int8 adds forward-bf16 / forward-int8 (int8 calibrated on 16 random images: for timing only)
        List<String> precisions = List.of(o.getOrDefault("--precisions", "fp32").split(","));
        Files.createDirectories(models);
        if (o.containsKey("--models-only")) { // write the model files the cold-start and RSS parts read, nothing else
            archs.forEach(arch -> System.out.println(model(models, arch)));
            return;
        }

        StringBuilder json = new StringBuilder("{\n  \"device\": \"" + device + "\", \"batch\": " + batch + ",\n  \"results\": [\n");
        System.out.printf("%-10s %-16s %9s %9s %9s %9s %5s %8s%n", "arch", "what", "median ms", "p10", "p90", "min", "n", "bg CPU");
        boolean first = true;
        for (String arch : archs) {
            Path file = model(models, arch);
            float[] x = new float[batch * 3 * 224 * 224];
            SplittableRandom r = new SplittableRandom(0);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            Shape shape = Shape.of(batch, 3, 224, 224);
            Map<String, Supplier<Object>> cases = new LinkedHashMap<>();
            List<Classifier> lowPrecision = new ArrayList<>();
            try (Classifier fused = Classifier.load(file, Classifier.Options.defaults().withDevice(device));
                 Classifier plain = Classifier.load(file, Classifier.Options.defaults().withDevice(device).withOptimize(false))) {
                BufferedImage small = image(224, 224);
                BufferedImage large = image(512, 512);
                cases.put("forward", () -> fused.forward(x, shape));
                cases.put("forward-unfused", () -> plain.forward(x, shape));
                if (precisions.contains("bf16")) {
                    Classifier c = Classifier.load(file, Classifier.Options.defaults().withDevice(device).withPrecision(Precision.BF16));
                    lowPrecision.add(c);
                    cases.put("forward-bf16", () -> c.forward(x, shape));
                }
                if (precisions.contains("int8")) {
                    Classifier c = Classifier.load(quantized(models, arch, file, device), Classifier.Options.defaults().withDevice(device));
                    lowPrecision.add(c);
                    cases.put("forward-int8", () -> c.forward(x, shape));
                }
                if (batch == 1) {
                    cases.put("classify-224", () -> fused.classify(small));
                    cases.put("classify-512", () -> fused.classify(large));
                }
                for (Map.Entry<String, Supplier<Object>> c : cases.entrySet()) {
                    Timing t = time(c.getValue(), warmup, minIters, maxIters, minSeconds);
                    System.out.printf(Locale.ROOT, "%-10s %-16s %9.2f %9.2f %9.2f %9.2f %5d %8.2f%n", arch, c.getKey(),
                            t.median(), t.percentile(10), t.percentile(90), t.min(), t.ms.length, t.background);
                    json.append(first ? "" : ",\n").append(String.format(Locale.ROOT,
                            "    {\"arch\": \"%s\", \"what\": \"%s\", \"median_ms\": %.3f, \"p10_ms\": %.3f, \"p90_ms\": %.3f, "
                                    + "\"min_ms\": %.3f, \"bg_cpu\": %.3f, \"ms\": %s}",
                            arch, c.getKey(), t.median(), t.percentile(10), t.percentile(90), t.min(), t.background,
                            Arrays.toString(t.ms)));
                    first = false;
                }
            } finally {
                lowPrecision.forEach(Classifier::close);
            }
        }
        json.append("\n  ]\n}\n");
        if (o.containsKey("--out")) {
            Files.writeString(Path.of(o.get("--out")), json);
        }
    }

    /** A torchvision-initialised model (seed 0) with ImageNet preprocessing metadata, written once. */
    static Path model(Path dir, String arch) {
        Path file = dir.resolve(arch + ".safetensors");
        if (!Files.exists(file)) {
            try (ResNet m = ResNet.builder(arch).numClasses(2).device(Device.REFERENCE).seed(0).build()) {
                StateDict s = m.stateDict();
                s.metadata().putAll(Preprocessing.imagenet(224).toMetadata());
                s.metadata().put(ModelInfo.META_CLASSES, "[\"NORMAL\",\"PNEUMONIA\"]");
                SafeTensors.write(file, s);
            }
        }
        return file;
    }

    /** {@code arch}'s model quantized by {@link Quantization} on 16 random 256x256 images (timing only), written once. */
    static Path quantized(Path dir, String arch, Path model, String device) throws IOException {
        Path file = dir.resolve(arch + "-int8.safetensors");
        if (!Files.exists(file)) {
            Path images = Files.createDirectories(dir.resolve("calibration"));
            for (int i = 0; i < 16; i++) {
                javax.imageio.ImageIO.write(ModelFiles.image(256, 256, i + 1), "png", images.resolve(i + ".png").toFile());
            }
            Quantization.write(model, Quantization.calibrate(model, Quantization.calibrationImages(images, 16), device), file);
        }
        return file;
    }

    private static BufferedImage image(int w, int h) {
        return ModelFiles.image(w, h, w);
    }

    /** Per-call milliseconds and the CPUs other processes kept busy meanwhile. */
    record Timing(double[] ms, double background) {
        double median() {
            return percentile(50);
        }

        double min() {
            return ms[0];
        }

        double percentile(int p) {
            return ms[Math.min(ms.length - 1, (int) Math.round(p / 100.0 * (ms.length - 1)))];
        }
    }

    /** Up to three attempts while other processes used more than 0.15 CPU meanwhile; the quietest one counts. */
    private static Timing time(Supplier<Object> call, int warmup, int minIters, int maxIters, double minSeconds)
            throws IOException {
        Timing best = null;
        for (int attempt = 0; attempt < 3 && (best == null || best.background > 0.15); attempt++) {
            Timing t = attempt(call, warmup, minIters, maxIters, minSeconds);
            if (best == null || t.background < best.background) {
                best = t;
            }
        }
        return best;
    }

    private static Timing attempt(Supplier<Object> call, int warmup, int minIters, int maxIters, double minSeconds)
            throws IOException {
        for (int i = 0; i < warmup; i++) {
            call.get();
        }
        List<Double> ms = new ArrayList<>();
        long busy0 = busyJiffies();
        long self0 = selfCpuNanos();
        long start = System.nanoTime();
        while (ms.size() < maxIters && (ms.size() < minIters || System.nanoTime() - start < minSeconds * 1e9)) {
            long t0 = System.nanoTime();
            call.get();
            ms.add((System.nanoTime() - t0) / 1e6);
        }
        double wall = (System.nanoTime() - start) / 1e9;
        double busy = (busyJiffies() - busy0) / 100.0; // USER_HZ = 100
        double self = (selfCpuNanos() - self0) / 1e9;
        double[] sorted = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return new Timing(sorted, Math.max(0, (busy - self) / wall));
    }

    private static long busyJiffies() throws IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long b = 0;
        for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
            b += i < f.length ? Long.parseLong(f[i]) : 0;
        }
        return b;
    }

    /** CPU time of this process (all threads, OpenMP's included), from /proc/self/stat. */
    private static long selfCpuNanos() throws IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L; // utime, stime in 1/100 s
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            o.put(args[i], args[i + 1]);
        }
        return o;
    }
}
