package dev.graft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.cli.bench.KernelProfile;
import dev.graft.cli.bench.ProcessStats;
import dev.graft.cli.bench.TimedLoop;
import dev.graft.cli.bench.Workload;
import dev.graft.engine.Device;
import dev.graft.engine.GraftException;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.cpu.CpuBackend;
import dev.graft.models.ModelMetadata;
import dev.graft.models.ResNetConfig;
import dev.graft.train.OptionChecks;
import dev.graft.train.OptionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Times the training and inference work of transfer learning on ResNets: a full fine-tuning step, a
 * frozen-backbone step (batch-norm policy HOLD), an epoch of head training on cached features, and inference at
 * batch 1 and at {@code --batch}; prints img/s, the spread and the peak resident memory of each configuration.
 * {@code bench/train_bench.sh} runs every configuration in its own process next to PyTorch and prints ratios.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Time fine-tuning, frozen-backbone and cached-head training steps and inference on ResNets "
                + "(synthetic data, random weights) and print img/s and peak memory.",
                "Configurations: <arch>_<kind>_b<batch>, kinds train, frozen, cached, infer (batch 1 and --batch).",
                "For PyTorch figures side by side run bench/train_bench.sh."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--arch", split = ",", defaultValue = "resnet18,resnet50",
            description = "Architectures, comma-separated (default: ${DEFAULT-VALUE}).")
    List<String> archs;

    @Option(names = "--batch", defaultValue = "32", description = "Batch size of the training steps and of batched inference (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--image-size", defaultValue = "224", description = "Square image size (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, reference, cuda[:N] or auto (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--only", split = ",",
            description = "Run only these kinds (train, frozen, cached, infer) or configurations (r18_infer_b1).")
    List<String> only;

    @Option(names = "--cached-images", defaultValue = "320",
            description = "Images per cached-head epoch (default: ${DEFAULT-VALUE}).")
    int cachedImages;

    @Option(names = "--iters", description = "Minimum timed iterations (default: 5; 20 for batch-1 inference).")
    Integer iters;

    @Option(names = "--warmup", description = "Warm-up iterations (default: 2; 5 for batch-1 inference).")
    Integer warmup;

    @Option(names = "--min-time", description = "Minimum seconds of timed iterations (default: 0; 5 for batch-1 inference and cached epochs).")
    Double minTime;

    @Option(names = "--precision", defaultValue = "fp32", description = "fp32 or bf16: the arithmetic of the training "
            + "kinds (train, frozen, cached), as graft train --precision; inference is fp32 (default ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--profile", description = "Also print the time spent in each backend kernel (adds a little overhead).")
    boolean profile;

    @Option(names = "--json", description = "Also write the results (every iteration time) to this JSON file.")
    Path json;

    /** One configuration to run. */
    record Config(String arch, Workload.Kind kind, int batch) {
        String name() {
            String a = arch.startsWith("resnet") ? "r" + arch.substring("resnet".length()) : arch;
            return a + "_" + kind.name().toLowerCase(Locale.ROOT) + "_b" + batch;
        }
    }

    @Override
    public Integer call() throws IOException {
        OptionChecks.batchSize("--batch", batch);
        OptionChecks.between("--image-size", imageSize, 32, ModelMetadata.MAX_IMAGE_SIZE, "the square image size");
        OptionChecks.between("--cached-images", cachedImages, 1, Integer.MAX_VALUE, "the images per cached-head epoch");
        if (iters != null) {
            OptionChecks.between("--iters", iters, 1, Integer.MAX_VALUE, "the minimum number of timed iterations");
        }
        if (warmup != null) {
            OptionChecks.between("--warmup", warmup, 0, Integer.MAX_VALUE, "the number of warm-up iterations");
        }
        if (minTime != null) {
            OptionChecks.between("--min-time", minTime, 0, Double.POSITIVE_INFINITY, "the minimum seconds of timed iterations");
        }
        if (only != null) {
            List<String> known = new ArrayList<>();
            for (Workload.Kind k : Workload.Kind.values()) {
                known.add(k.name().toLowerCase(Locale.ROOT));
                for (String arch : archs) {
                    known.add(new Config(arch, k, batch).name());
                    known.add(new Config(arch, k, 1).name());
                }
            }
            for (String o : only) {
                if (!known.contains(o)) {
                    throw new OptionException("--only '" + o + "' is neither a kind (train, frozen, cached, infer) nor one of this "
                            + "run's configurations, e.g. " + new Config(archs.get(0), Workload.Kind.INFER, 1).name());
                }
            }
        }
        for (String arch : archs) {
            ResNetConfig.named(arch, 2); // a misspelt architecture fails now, not after the others were timed
        }
        Device d = Backends.resolve(device).device();
        dev.graft.engine.Precision p;
        try {
            p = dev.graft.engine.Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new OptionException("--precision: " + e.getMessage());
        }
        List<Config> configs = configs();
        if (configs.isEmpty()) {
            throw new GraftException("bench: --only " + only + " selects nothing; kinds are train, frozen, cached, infer");
        }
        System.out.println("graft bench on " + d + ": " + Backends.get(d).description() + (p == dev.graft.engine.Precision.FP32 ? ""
                : "; training kinds in " + p));
        System.out.println(machine());
        List<Map<String, Object>> results = new ArrayList<>();
        try (dev.graft.engine.backend.Backend.PrecisionScope scope = Backends.get(d).usePrecision(p)) {
            for (Config c : configs) {
                results.add(run(c, d));
            }
        }
        if (json != null) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("date", Instant.now().toString());
            doc.put("device", d.toString());
            doc.put("backend", Backends.get(d).description());
            doc.put("precision", p.cliName());
            doc.put("machine", machine());
            doc.put("java", Runtime.version().toString());
            doc.put("results", results);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), doc);
        }
        return 0;
    }

    private List<Config> configs() {
        List<Config> out = new ArrayList<>();
        for (String arch : archs) {
            List<Config> all = List.of(new Config(arch, Workload.Kind.TRAIN, batch), new Config(arch, Workload.Kind.FROZEN, batch),
                    new Config(arch, Workload.Kind.CACHED, batch), new Config(arch, Workload.Kind.INFER, 1),
                    new Config(arch, Workload.Kind.INFER, batch));
            for (Config c : all) {
                if (c.kind() == Workload.Kind.INFER && c.batch() == 1 && batch == 1 && out.contains(c)) {
                    continue;
                }
                if (only == null || only.contains(c.kind().name().toLowerCase(Locale.ROOT)) || only.contains(c.name())) {
                    if (!out.contains(c)) {
                        out.add(c);
                    }
                }
            }
        }
        return out;
    }

    private Map<String, Object> run(Config c, Device d) {
        boolean latency = c.kind() == Workload.Kind.INFER && c.batch() == 1;
        boolean cached = c.kind() == Workload.Kind.CACHED;
        TimedLoop loop = new TimedLoop(warmup != null ? warmup : latency ? 5 : 2,
                iters != null ? iters : latency ? 20 : 5,
                minTime != null ? minTime : latency || cached ? 5.0 : 0.0,
                latency ? 300 : cached ? 200 : iters != null ? iters : 5);
        releaseMemory();
        boolean resetOk = ProcessStats.resetPeakRss();
        resetNativePeaks();
        double rssBefore = ProcessStats.rssMib();
        long t0 = System.nanoTime();
        TimedLoop.Result r;
        int images;
        KernelProfile kernels = profile ? KernelProfile.install(d) : null;
        try (Workload w = new Workload(c.kind(), c.arch(), c.batch(), imageSize, d, cachedImages)) {
            images = w.imagesPerIteration();
            double setup = (System.nanoTime() - t0) / 1e9;
            r = loop.run(w::iteration, () -> {
                if (kernels != null) {
                    kernels.reset();
                }
            });
            double peak = ProcessStats.peakRssMib();
            double[] nativePeaks = nativePeaksMib();
            double ips = images / r.median();
            System.out.printf(Locale.ROOT, "%-15s %-28s median %8.1f ms %9.2f img/s (%.2f..%.2f)  peak RSS %5.0f MiB%s"
                            + " (at start %.0f; tensors %.0f, +cache %.0f)  n=%d  bg CPU %.2f%n",
                    c.name(), c.kind().label() + (cached ? " (" + images + " img)" : ""), r.median() * 1e3, ips,
                    images / r.max(), images / r.min(), peak, resetOk ? "" : " (process peak)", rssBefore, nativePeaks[0],
                    nativePeaks[1], r.seconds().size(), r.othersCpu());
            if (kernels != null) {
                System.out.print(kernels.report(r.seconds().size(), 25));
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("config", c.name());
            m.put("arch", c.arch());
            m.put("kind", c.kind().name().toLowerCase(Locale.ROOT));
            m.put("batch", c.batch());
            m.put("image_size", imageSize);
            m.put("images_per_iter", images);
            m.put("setup_s", setup);
            m.put("times_s", r.seconds());
            m.put("median_s", r.median());
            m.put("min_s", r.min());
            m.put("max_s", r.max());
            m.put("img_per_s_median", ips);
            m.put("peak_rss_mib", peak);
            m.put("peak_rss_is_per_config", resetOk);
            m.put("rss_before_mib", rssBefore);
            m.put("native_peak_in_use_mib", nativePeaks[0]);
            m.put("native_peak_held_mib", nativePeaks[1]);
            m.put("self_cpu_per_wall", r.selfCpu());
            m.put("others_cpu_per_wall", r.othersCpu());
            return m;
        } finally {
            if (kernels != null) {
                kernels.close();
            }
            releaseMemory();
        }
    }

    /** Returns what earlier configurations left (cached native blocks, garbage) so peaks do not carry over. */
    private static void releaseMemory() {
        System.gc();
        try {
            CpuBackend.releaseCachedMemory();
        } catch (LinkageError e) {
            // no cpu backend on the class path: nothing cached
        }
    }

    private static void resetNativePeaks() {
        try {
            CpuBackend.resetNativePeaks();
        } catch (LinkageError e) {
            // no cpu backend on the class path
        }
    }

    /** cpu-backend native memory: peak live, peak live + cached (MiB); NaN without the cpu backend. */
    private static double[] nativePeaksMib() {
        try {
            return new double[] {CpuBackend.nativePeakBytesInUse() / 1048576.0, CpuBackend.nativePeakBytesHeld() / 1048576.0};
        } catch (LinkageError e) {
            return new double[] {Double.NaN, Double.NaN};
        }
    }

    private static String machine() {
        String cpu = "unknown CPU";
        try {
            for (String l : java.nio.file.Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) {
                    cpu = l.substring(l.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return cpu + ", " + Runtime.getRuntime().availableProcessors() + " cores, Java " + Runtime.version()
                + ", OMP_NUM_THREADS=" + System.getenv().getOrDefault("OMP_NUM_THREADS", "(unset)");
    }
}
