package dev.graft.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.loaders.images.DataLayout;
import dev.graft.models.PrintableText;
import dev.graft.train.Checkpoint;
import dev.graft.train.Initialization;
import dev.graft.train.OutputFiles;
import dev.graft.train.Progress;
import dev.graft.train.TestEvaluation;
import dev.graft.train.TrainConfig;
import dev.graft.train.Trainer;
import dev.graft.train.TrainingException;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Runs a study's grid: each cell is one {@code graft train} command line (the train command's own code path, given
 * as {@code train}) in its own run folder {@code OUT/runs/DATASET/ARCH/INIT/seed-S}, its output in that folder's
 * {@code train.log}. A cell is skipped when its {@code study-cell.json} marker exists (written atomically after the
 * run and its test evaluation finished); a folder holding a checkpoint but no marker is continued with
 * {@code graft train --resume} (the test evaluation, which a resumed run does not do, is done here). Cells run one
 * at a time, or {@code parallel} at a time on a thread pool; one progress line per cell on the terminal.
 */
public final class StudyRunner {
    public static final String MARKER = "study-cell.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One cell of the grid. {@code init} as the configuration writes it; {@code dir} its run folder. */
    public record Cell(StudyConfig.Dataset dataset, StudyConfig.Architecture arch, String init, long seed, Path dir) {
        String label() {
            return dataset.name() + " " + arch.name() + " " + init + " seed " + seed;
        }
    }

    /** A cell's outcome: its metric value (NaN when it failed or was not applicable) and on which split. */
    public record Outcome(Cell cell, double value, String split, String status) {
    }

    private final StudyConfig cfg;
    private final Path out;
    private final int parallel;
    private final int workers;
    private final String device;
    private final Function<String[], Integer> train;
    private final PrintStream terminal;

    public StudyRunner(StudyConfig cfg, Path out, int parallel, int workers, String device, Function<String[], Integer> train,
                       PrintStream terminal) {
        this.cfg = cfg;
        this.out = out;
        this.parallel = parallel;
        this.workers = workers;
        this.device = device;
        this.train = train;
        this.terminal = terminal;
    }

    /** The grid in order: data set, architecture, initialization, seed. */
    public List<Cell> cells() {
        List<Cell> cells = new ArrayList<>();
        for (StudyConfig.Dataset d : cfg.datasets()) {
            for (StudyConfig.Architecture a : cfg.architectures()) {
                for (String init : cfg.initializations()) {
                    for (long seed : cfg.seeds()) {
                        Path dir = out.resolve("runs").resolve(d.name()).resolve(a.name()).resolve(folderName(init)).resolve("seed-" + seed);
                        cells.add(new Cell(d, a, init, seed, dir));
                    }
                }
            }
        }
        return cells;
    }

    static String folderName(String init) {
        return init.replace(':', '-');
    }

    /** The {@code graft train} arguments of a new run of {@code c}. */
    List<String> trainArgs(Cell c) {
        List<String> a = new ArrayList<>(List.of("train", "--data", c.dataset().data().toString()));
        if (c.dataset().val() != null) {
            a.addAll(List.of("--val", c.dataset().val().toString()));
        }
        if (c.dataset().test() != null) {
            a.addAll(List.of("--test", c.dataset().test().toString()));
        }
        a.addAll(List.of("--out", c.dir().toString()));
        if (c.arch().arch() != null) {
            a.addAll(List.of("--arch", c.arch().arch()));
        }
        if (c.arch().weights() != null) { // random too: the architecture and normalisation from the weights, values random
            a.addAll(List.of("--weights", c.arch().weights().toString()));
            if (c.init().startsWith("up-to:")) {
                String[] p = c.init().split(":");
                a.addAll(List.of("--transfer-up-to", p[1]));
                if (p.length == 3) {
                    a.addAll(List.of("--init-above", p[2]));
                }
            } else {
                a.addAll(List.of("--init", c.init()));
            }
        }
        a.addAll(List.of("--seed", Long.toString(c.seed()), "--workers", Integer.toString(workers), "--device", device, "--no-progress"));
        cfg.train().forEach((k, v) -> {
            if (v.equalsIgnoreCase("true")) {
                a.add("--" + k);
            } else if (!v.equalsIgnoreCase("false")) {
                a.addAll(List.of("--" + k, v));
            }
        });
        return a;
    }

    /** Runs every cell not done yet and returns every cell's outcome, in grid order. */
    public List<Outcome> run() {
        List<Cell> cells = cells();
        RoutedOutput routedOut = new RoutedOutput(System.out);
        RoutedOutput routedErr = new RoutedOutput(System.err);
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        AtomicInteger finished = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        List<Outcome> outcomes = new ArrayList<>();
        System.setOut(new PrintStream(routedOut, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(routedErr, true, StandardCharsets.UTF_8));
        ExecutorService pool = Executors.newFixedThreadPool(parallel);
        try {
            List<Future<Outcome>> futures = new ArrayList<>();
            for (Cell c : cells) {
                futures.add(pool.submit(() -> {
                    if (stop.get()) {
                        return new Outcome(c, Double.NaN, null, "not run (study stopped)");
                    }
                    long t0 = System.nanoTime();
                    Outcome o = runCell(c, routedOut, routedErr, stop);
                    double s = (System.nanoTime() - t0) / 1e9;
                    line(String.format(Locale.ROOT, "[%d/%d] %s: %s%s", finished.incrementAndGet(), cells.size(), c.label(),
                            Double.isNaN(o.value()) ? o.status() : String.format(Locale.ROOT, "%s %.4f (%s), %s", cfg.metric(), o.value(),
                                    o.split(), o.status()),
                            o.status().startsWith("trained") || o.status().startsWith("resumed") ? String.format(Locale.ROOT, " in %.1f s", s) : ""));
                    return o;
                }));
            }
            for (Future<Outcome> f : futures) {
                outcomes.add(f.get());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TrainingException("the study was interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new TrainingException("a study run failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return outcomes;
    }

    /** The outcomes of the cells finished so far, training nothing ({@code --report-only}). */
    public List<Outcome> finishedSoFar() throws IOException {
        List<Outcome> out = new ArrayList<>();
        for (Cell c : cells()) {
            out.add(Files.exists(c.dir().resolve(MARKER)) ? outcome(c, "done earlier") : new Outcome(c, Double.NaN, null, "not run yet"));
        }
        return out;
    }

    private synchronized void line(String s) {
        terminal.println(PrintableText.escape(s));
        terminal.flush();
    }

    private Outcome runCell(Cell c, RoutedOutput routedOut, RoutedOutput routedErr, AtomicBoolean stop) throws IOException {
        if (StudyConfig.needsWeights(c.init()) && c.arch().weights() == null) {
            return new Outcome(c, Double.NaN, null, "n/a (" + c.arch().name() + " has no pretrained weights)");
        }
        Path marker = c.dir().resolve(MARKER);
        if (Files.exists(marker)) {
            return outcome(c, "done earlier (skipped)");
        }
        Files.createDirectories(c.dir());
        Path log = c.dir().resolve("train.log");
        String how;
        try (PrintStream logStream = new PrintStream(Files.newOutputStream(log, StandardOpenOption.CREATE, StandardOpenOption.APPEND),
                true, StandardCharsets.UTF_8)) {
            routedOut.route(logStream);
            routedErr.route(logStream);
            try {
                boolean resumed = Checkpoint.exists(c.dir());
                int code;
                if (resumed && Files.exists(c.dir().resolve("metrics.json"))) {
                    code = 0; // training finished; only the test evaluation (or the marker) is missing
                    how = "finished earlier, marker written";
                } else if (resumed) {
                    how = "resumed from its checkpoint";
                    logStream.println("graft study: continuing this run from its checkpoint (graft train --resume)");
                    code = train.apply(new String[] {"train", "--resume", c.dir().toString(), "--workers", Integer.toString(workers),
                        "--device", device, "--no-progress"});
                } else {
                    how = "trained";
                    List<String> args = trainArgs(c);
                    logStream.println("graft " + String.join(" ", args));
                    code = train.apply(args.toArray(String[]::new));
                }
                // 130: Ctrl-C; 0 without metrics.json: stopped before its last epoch (a kill, --stop-after-epochs).
                if (code == 130 || (code == 0 && !Files.exists(c.dir().resolve("metrics.json")))) {
                    stop.set(true);
                    return new Outcome(c, Double.NaN, null, "interrupted (run the study again to continue it)");
                }
                if (code != 0) {
                    return new Outcome(c, Double.NaN, null, "failed, exit code " + code + " (see " + log + ")");
                }
                if (resumed) {
                    testIfMissing(c, logStream);
                }
            } finally {
                routedOut.route(null);
                routedErr.route(null);
            }
        }
        Outcome o = outcome(c, how);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dataset", c.dataset().name());
        m.put("architecture", c.arch().name());
        m.put("initialization", c.init());
        m.put("seed", c.seed());
        m.put("metric", cfg.metric());
        m.put("split", o.split());
        m.put("value", o.value());
        OutputFiles.write(marker, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m));
        return o;
    }

    /** A resumed run's test evaluation ({@code graft train --resume} does not do it), with the settings it saved. */
    private void testIfMissing(Cell c, PrintStream log) throws IOException {
        Path testDir = testFolder(c.dataset());
        JsonNode metrics = JSON.readTree(c.dir().resolve("metrics.json").toFile());
        if (testDir == null || metrics.has("test")) {
            return;
        }
        TrainConfig tc = TrainConfig.fromJson(metrics.get("config").toString());
        TestEvaluation.run(c.dir(), testDir, tc, new Trainer.Options(false, log, w -> log.println("warning: " + w), 0));
    }

    static Path testFolder(StudyConfig.Dataset d) {
        if (d.test() != null) {
            return d.test();
        }
        DataLayout layout = DataLayout.detect(d.data());
        return layout == null ? null : layout.test();
    }

    /** The cell's metric from its metrics.json: the test split's where there is one, else validation's. */
    Outcome outcome(Cell c, String status) throws IOException {
        JsonNode metrics = JSON.readTree(c.dir().resolve("metrics.json").toFile());
        String split = metrics.has("test") ? "test" : "validation";
        JsonNode section = metrics.get(split);
        String key = switch (cfg.metric()) {
            case "accuracy" -> "accuracy_argmax";
            case "balanced-accuracy" -> "balanced_accuracy";
            default -> "roc_auc";
        };
        JsonNode v = section == null ? null : section.get(key);
        if (v == null || !v.isNumber()) {
            return new Outcome(c, Double.NaN, split, "no " + key + " in " + c.dir().resolve("metrics.json"));
        }
        return new Outcome(c, v.asDouble(), split, status);
    }

    /** True when the initialization is the seed papers' WT (pretrained weights as they are). */
    static boolean isPretrained(String init) {
        return init.equals(Initialization.PRETRAINED);
    }
}
