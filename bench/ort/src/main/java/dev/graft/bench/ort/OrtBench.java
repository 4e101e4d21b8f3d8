package dev.graft.bench.ort;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The ONNX Runtime side of {@code bench/inference_bench.sh} (SECTIONS=ort): ONNX Runtime's Java API on the CPU
 * execution provider, 2 intra-op threads ({@code --threads}), 1 inter-op thread, sequential execution, every graph
 * optimisation on. Two modes:
 *
 * <pre>
 *   latency --model M.onnx --arch NAME --batch N [--threads 2] [--warmup 10] [--min-iters 30] [--max-iters 300]
 *           [--min-seconds 5] [--out FILE.json]
 *       a [N,3,224,224] batch in, logits out; per-call times after warm-up, the median over at least --min-seconds;
 *       JSON as InferenceBench (Graft) and inference_bench_torch.py write it, so one report joins the three.
 *   classify [--threads 2] [--logits] M.onnx IMAGE...
 *       the deployment path, timed from outside (cold start, peak RSS): decode each image, resize its shorter side
 *       to 256 (bilinear, antialiased when shrinking, as PIL and Graft's runtime resize), centre-crop 224, scale to
 *       [0,1], normalise with ImageNet's mean and std, run, softmax; prints IMAGE, label (NORMAL/PNEUMONIA) and its
 *       probability, tab-separated, one line per image (with --logits, then the logits, comma-separated: the
 *       parity check against Graft and PyTorch).
 * </pre>
 */
public final class OrtBench {
    private static final String[] LABELS = {"NORMAL", "PNEUMONIA"};
    private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    private static final float[] STD = {0.229f, 0.224f, 0.225f};
    private static final int SIZE = 224;
    private static final int RESIZE = 256;

    private OrtBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage("give a mode: latency or classify");
        }
        String mode = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (mode) {
            case "latency" -> latency(options(rest));
            case "classify" -> classify(rest);
            default -> usage("unknown mode " + mode);
        }
    }

    private static void usage(String why) {
        System.err.println("OrtBench: " + why + "\nusage: OrtBench latency --model M.onnx ... | classify [--threads N] [--logits] M.onnx IMAGE...");
        System.exit(2);
    }

    static OrtSession session(OrtEnvironment env, Path model, int threads) throws OrtException {
        if (!Files.isRegularFile(model)) {
            throw new IllegalArgumentException("model file " + model + " does not exist; run bench/ort/export_models.py first");
        }
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setIntraOpNumThreads(threads);
            o.setInterOpNumThreads(1);
            o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            return env.createSession(model.toString(), o);
        }
    }

    /** Runs one batch; returns the logits row-major [N, classes]. */
    static float[] run(OrtEnvironment env, OrtSession s, float[] x, int n) throws OrtException {
        String input = s.getInputNames().iterator().next();
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, 3, SIZE, SIZE});
             OrtSession.Result r = s.run(Map.of(input, t))) {
            float[][] y = (float[][]) r.get(0).getValue();
            float[] flat = new float[n * y[0].length];
            for (int i = 0; i < n; i++) {
                System.arraycopy(y[i], 0, flat, i * y[0].length, y[0].length);
            }
            return flat;
        }
    }

    private static void latency(Map<String, String> o) throws Exception {
        Path model = Path.of(need(o, "--model"));
        String arch = o.getOrDefault("--arch", model.getFileName().toString().replace(".onnx", ""));
        int batch = Integer.parseInt(o.getOrDefault("--batch", "1"));
        int threads = Integer.parseInt(o.getOrDefault("--threads", "2"));
        int warmup = Integer.parseInt(o.getOrDefault("--warmup", "10"));
        int minIters = Integer.parseInt(o.getOrDefault("--min-iters", "30"));
        int maxIters = Integer.parseInt(o.getOrDefault("--max-iters", "300"));
        double minSeconds = Double.parseDouble(o.getOrDefault("--min-seconds", "5"));
        float[] x = new float[batch * 3 * SIZE * SIZE];
        SplittableRandom r = new SplittableRandom(0);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Timing t;
        try (OrtSession s = session(env, model, threads)) {
            t = Timing.best(() -> run(env, s, x, batch), warmup, minIters, maxIters, minSeconds);
        }
        System.out.printf("%-10s %-16s %9s %9s %9s %9s %5s %8s%n", "arch", "what", "median ms", "p10", "p90", "min", "n", "bg CPU");
        System.out.printf(Locale.ROOT, "%-10s %-16s %9.2f %9.2f %9.2f %9.2f %5d %8.2f%n", arch, "forward", t.percentile(50),
                t.percentile(10), t.percentile(90), t.ms[0], t.ms.length, t.background);
        if (o.containsKey("--out")) {
            String json = String.format(Locale.ROOT, "{\n  \"onnxruntime\": \"%s\", \"threads\": %d, \"batch\": %d,\n  \"results\": [\n"
                            + "    {\"arch\": \"%s\", \"what\": \"forward\", \"median_ms\": %.3f, \"p10_ms\": %.3f, \"p90_ms\": %.3f, "
                            + "\"min_ms\": %.3f, \"bg_cpu\": %.3f, \"ms\": %s}\n  ]\n}\n",
                    env.getVersion(), threads, batch, arch, t.percentile(50), t.percentile(10), t.percentile(90), t.ms[0],
                    t.background, Arrays.toString(t.ms));
            writeAtomic(Path.of(o.get("--out")), json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    private static void classify(String[] args) throws Exception {
        int threads = 2;
        boolean printLogits = false;
        List<String> files = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--threads") && i + 1 < args.length) {
                threads = Integer.parseInt(args[++i]);
            } else if (args[i].equals("--logits")) {
                printLogits = true;
            } else {
                files.add(args[i]);
            }
        }
        if (files.size() < 2) {
            usage("classify needs a model file and at least one image");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = session(env, Path.of(files.get(0)), threads)) {
            for (String f : files.subList(1, files.size())) {
                BufferedImage img = ImageIO.read(Path.of(f).toFile());
                if (img == null) {
                    throw new IllegalArgumentException(f + " is not an image ImageIO can decode");
                }
                float[] logits = run(env, s, preprocess(img), 1);
                int best = 0;
                double sum = 0;
                for (int i = 0; i < logits.length; i++) {
                    best = logits[i] > logits[best] ? i : best;
                }
                for (float l : logits) {
                    sum += Math.exp(l - logits[best]);
                }
                String label = best < LABELS.length ? LABELS[best] : "class " + best;
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s\t%s\t%.4f", f, label, 1 / sum));
                for (int i = 0; printLogits && i < logits.length; i++) {
                    line.append(i == 0 ? "\t" : ",").append(logits[i]);
                }
                System.out.println(line);
            }
        }
    }

    /** RGB image -> [3,224,224]: Resize(256) on the shorter side, CenterCrop(224), /255, Normalize(ImageNet). */
    static float[] preprocess(BufferedImage img) {
        int h = img.getHeight(), w = img.getWidth();
        float[] rgb = new float[3 * h * w];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x];
                rgb[y * w + x] = ((p >> 16) & 0xff) / 255f;
                rgb[h * w + y * w + x] = ((p >> 8) & 0xff) / 255f;
                rgb[2 * h * w + y * w + x] = (p & 0xff) / 255f;
            }
        }
        int oh = h <= w ? RESIZE : (int) ((long) RESIZE * h / w);
        int ow = h <= w ? (int) ((long) RESIZE * w / h) : RESIZE;
        float[] resized = (oh == h && ow == w) ? rgb : resize(rgb, h, w, oh, ow);
        int top = (int) Math.round((oh - SIZE) / 2.0), left = (int) Math.round((ow - SIZE) / 2.0);
        float[] out = new float[3 * SIZE * SIZE];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < SIZE; y++) {
                for (int x = 0; x < SIZE; x++) {
                    out[(c * SIZE + y) * SIZE + x] = (resized[(c * oh + top + y) * ow + left + x] - MEAN[c]) / STD[c];
                }
            }
        }
        return out;
    }

    /** Separable triangle-filter resampling whose support widens with the shrink factor (PIL's BILINEAR). */
    static float[] resize(float[] in, int h, int w, int oh, int ow) {
        float[] tmp = new float[3 * h * ow];
        Filter fx = new Filter(w, ow), fy = new Filter(h, oh);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < ow; x++) {
                    double acc = 0;
                    for (int k = 0; k < fx.w[x].length; k++) {
                        acc += in[(c * h + y) * w + fx.first[x] + k] * fx.w[x][k];
                    }
                    tmp[(c * h + y) * ow + x] = (float) acc;
                }
            }
        }
        float[] out = new float[3 * oh * ow];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) {
                    double acc = 0;
                    for (int k = 0; k < fy.w[y].length; k++) {
                        acc += tmp[(c * h + fy.first[y] + k) * ow + x] * fy.w[y][k];
                    }
                    out[(c * oh + y) * ow + x] = (float) acc;
                }
            }
        }
        return out;
    }

    /** Per output index: the first input index and the normalised weights of the inputs it averages. */
    private static final class Filter {
        final int[] first;
        final double[][] w;

        Filter(int in, int out) {
            double scale = in / (double) out;
            double support = Math.max(scale, 1.0);
            first = new int[out];
            w = new double[out][];
            for (int i = 0; i < out; i++) {
                double centre = (i + 0.5) * scale;
                int lo = Math.max(0, (int) Math.floor(centre - support + 0.5));
                int hi = Math.min(in, (int) Math.floor(centre + support + 0.5));
                double[] v = new double[Math.max(1, hi - lo)];
                double total = 0;
                for (int j = 0; j < hi - lo; j++) {
                    double d = Math.abs((lo + j + 0.5 - centre) / support);
                    v[j] = Math.max(0, 1 - d);
                    total += v[j];
                }
                for (int j = 0; j < v.length; j++) {
                    v[j] = total > 0 ? v[j] / total : 1.0 / v.length;
                }
                first[i] = Math.min(lo, in - 1);
                w[i] = v;
            }
        }
    }

    private static void writeAtomic(Path file, byte[] data) throws IOException {
        Path abs = file.toAbsolutePath();
        Path tmp = Files.createTempFile(abs.getParent(), abs.getFileName().toString(), ".tmp");
        Files.write(tmp, data);
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String need(Map<String, String> o, String key) {
        String v = o.get(key);
        if (v == null) {
            usage("missing " + key);
        }
        return v;
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            o.put(args[i], args[i + 1]);
        }
        return o;
    }

    interface Call {
        Object call() throws Exception;
    }

    /** Sorted per-call milliseconds and the CPUs other processes kept busy meanwhile (from /proc/stat). */
    record Timing(double[] ms, double background) {
        double percentile(int p) {
            return ms[Math.min(ms.length - 1, (int) Math.round(p / 100.0 * (ms.length - 1)))];
        }

        /** Up to three attempts while other processes used more than 0.15 CPU; the quietest one counts. */
        static Timing best(Call call, int warmup, int minIters, int maxIters, double minSeconds) throws Exception {
            Timing best = null;
            for (int attempt = 0; attempt < 3 && (best == null || best.background > 0.15); attempt++) {
                Timing t = once(call, warmup, minIters, maxIters, minSeconds);
                best = best == null || t.background < best.background ? t : best;
            }
            return best;
        }

        private static Timing once(Call call, int warmup, int minIters, int maxIters, double minSeconds) throws Exception {
            for (int i = 0; i < warmup; i++) {
                call.call();
            }
            List<Double> ms = new ArrayList<>();
            long busy0 = busyJiffies(), self0 = selfJiffies(), start = System.nanoTime();
            while (ms.size() < maxIters && (ms.size() < minIters || System.nanoTime() - start < minSeconds * 1e9)) {
                long t0 = System.nanoTime();
                call.call();
                ms.add((System.nanoTime() - t0) / 1e6);
            }
            double wall = (System.nanoTime() - start) / 1e9;
            double other = (busyJiffies() - busy0 - (selfJiffies() - self0)) / 100.0; // USER_HZ = 100
            return new Timing(ms.stream().mapToDouble(Double::doubleValue).sorted().toArray(), Math.max(0, other / wall));
        }

        private static long busyJiffies() throws IOException {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long b = 0;
            for (int i : new int[] {1, 2, 3, 6, 7, 8}) {
                b += i < f.length ? Long.parseLong(f[i]) : 0;
            }
            return b;
        }

        /** utime + stime of this process, all threads (ONNX Runtime's pool included), from /proc/self/stat. */
        private static long selfJiffies() throws IOException {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        }
    }
}
