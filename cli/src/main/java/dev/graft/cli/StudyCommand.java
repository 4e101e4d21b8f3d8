package dev.graft.cli;

import dev.graft.study.StudyConfig;
import dev.graft.study.StudyReport;
import dev.graft.study.StudyRunner;
import dev.graft.train.OptionChecks;
import dev.graft.train.OptionException;
import dev.graft.train.TrainingException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code graft study}: the seed papers' grid of architectures x initializations x data sets x seeds, and its table. */
@Command(name = "study", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Run a grid of training runs (architectures x initializations x data sets x seeds) from a study.yaml or study.json, "
                + "each an ordinary 'graft train' run in OUT/runs/DATASET/ARCH/INIT/seed-S, then write the table the seed papers "
                + "report: mean +- std of the metric per architecture x initialization, and WT (pretrained) vs RI (random) by a "
                + "paired t-test across seeds. Writes study.md, study.csv, study.json and study-DATASET.png in OUT.",
            "Run it again to continue: finished runs are skipped, an interrupted one continues from its checkpoint. "
                + "See docs/study.md for the file format."})
final class StudyCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The study: .yaml/.yml (YAML) or .json (JSON).")
    Path config;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Study folder: runs/ and the tables go here.")
    Path out;
    @Option(names = "--metric", description = "auc, accuracy or balanced-accuracy; replaces the file's metric (default: the file's, else auc). "
            + "Read from each run's test set where the data set has one, else from validation.")
    String metric;
    @Option(names = "--parallel", defaultValue = "1", description = "Runs at a time, 1 to the cores (default ${DEFAULT-VALUE}); "
            + "parallel x --workers may not exceed the cores.")
    int parallel;
    @Option(names = "--workers", description = "Image decoding threads per run (default: cores / --parallel).")
    Integer workers;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, reference or cuda[:N] for every run (default ${DEFAULT-VALUE}).")
    String device;
    @Option(names = "--report-only", description = "Write the table from the runs finished so far; train nothing.")
    boolean reportOnly;

    @Override
    public Integer call() throws IOException {
        int cores = Runtime.getRuntime().availableProcessors();
        OptionChecks.between("--parallel", parallel, 1, cores, "the runs at a time (this machine has " + cores + " cores)");
        int w = workers != null ? workers : Math.max(1, cores / parallel);
        OptionChecks.workers("--workers", w);
        if ((long) parallel * w > cores) {
            throw new OptionException("--parallel " + parallel + " x --workers " + w + " = " + parallel * w + " threads exceed the "
                    + cores + " cores; lower one of them");
        }
        StudyConfig cfg = StudyConfig.read(config);
        if (metric != null) {
            cfg = cfg.withMetric(metric);
        }
        StudyRunner runner = new StudyRunner(cfg, out, parallel, w, device, GraftCli::execute, System.out);
        List<StudyRunner.Cell> cells = runner.cells();
        System.out.printf(Locale.ROOT, "study %s: %d architecture(s) x %d initialization(s) x %d data set(s) x %d seed(s) = %d runs "
                        + "in %s, %d at a time%n", config, cfg.architectures().size(), cfg.initializations().size(), cfg.datasets().size(),
                cfg.seeds().size(), cells.size(), out.resolve("runs"), parallel);
        List<StudyRunner.Outcome> outcomes = reportOnly ? runner.finishedSoFar() : runner.run();
        StudyReport report = new StudyReport(cfg, outcomes);
        System.out.println();
        System.out.print(report.markdown());
        report.write(out);
        System.out.println("wrote " + out.resolve("study.md") + ", study.csv, study.json and study-<data set>.png");
        boolean interrupted = outcomes.stream().anyMatch(o -> o.status().startsWith("interrupted"));
        long failed = outcomes.stream().filter(o -> o.status().startsWith("failed")).count();
        if (failed > 0) {
            throw new TrainingException(failed + " run(s) failed (their train.log says why); the table leaves them out. Fix the "
                    + "cause and run the study again: finished runs are skipped");
        }
        return interrupted ? 130 : 0;
    }
}
