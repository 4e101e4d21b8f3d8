package dev.graft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.cli.Table;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.loaders.images.Sampling;
import dev.graft.models.DecisionRule;
import dev.graft.models.ResNet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The end of a run: choose the decision threshold on the validation set (Youden's J, a target sensitivity, or a
 * fixed value), store it in the model files, and write {@code metrics.json}, {@code history.json} and the plots.
 */
public record Report(Metrics validation, double threshold, int bestEpoch, Path metricsFile) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    static Report finish(TrainConfig cfg, Path runDir, ResNet last, RunData data, Preprocessing pre, int inputChannels,
                         TrainState state, Trainer.Options opt) {
        Metrics bestMetrics;
        double bestThreshold;
        Predictions validation;
        DecisionRule rule;
        try (DataLoader val = new DataLoader(data.validation(), data.classes().size(), pre.evaluation(),
                new DataLoader.Options(cfg.batchSize(), Sampling.Order.SEQUENTIAL, cfg.seed(), cfg.workers(), cfg.workers() + 1, false, cfg.strict(),
                        cfg.imageDecoding()),
                opt.warnings())) {
            // The last model is in memory; the best one is read back from its file.
            Predictions lastPred = Predictions.of(last, val, inputChannels, Progress.start("final validation", val.size(), opt.progress()));
            double lastThreshold = chooseThreshold(cfg.threshold(), lastPred, data.positiveClass());
            ModelFile.write(runDir.resolve("last.safetensors"), last, data.classes(), pre, lastThreshold, Math.max(0, data.positiveClass()), cfg);
            ModelFile bestFile = ModelFile.read(runDir.resolve("best.safetensors"));
            try (ResNet best = bestFile.build(last.device())) {
                best.setBatchNormPolicy(last.batchNormPolicy());
                Predictions bestPred = state.bestEpoch() == state.epochsDone() ? lastPred
                        : Predictions.of(best, val, inputChannels, Progress.start("best model", val.size(), opt.progress()));
                bestThreshold = chooseThreshold(cfg.threshold(), bestPred, data.positiveClass());
                ModelFile.write(runDir.resolve("best.safetensors"), best, data.classes(), pre, bestThreshold, Math.max(0, data.positiveClass()), cfg);
                rule = data.positiveClass() < 0 ? DecisionRule.argmax(data.classes())
                        : DecisionRule.of(data.classes(), data.positiveClass(), bestThreshold, "--threshold");
                bestMetrics = Metrics.compute(bestPred.probabilities(), bestPred.labels(), rule);
                validation = bestPred;
            }
        }
        Path metricsFile = runDir.resolve("metrics.json");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("best_epoch", state.bestEpoch());
        m.put("monitor", cfg.monitor());
        m.put("threshold_rule", cfg.threshold());
        m.put("validation", bestMetrics.toMap());
        m.put("config", cfg);
        plots(runDir.resolve("plots"), state.history(), bestMetrics, cfg, state.bestEpoch());
        TopLosses top = RunReport.topLosses(runDir, validation, data.validation(), rule, data.classes(), pre, cfg);
        m.put("top_losses_validation", topLossesJson(top, data.classes()));
        writeJson(metricsFile, m);
        writeJson(runDir.resolve("history.json"), state.history());
        RunReport.write(runDir, cfg, state, bestMetrics, validation, top, data.classes(), last.config().describe());
        opt.out().println();
        opt.out().println("Validation metrics of the best model (epoch " + state.bestEpoch() + ", by " + cfg.monitor() + "):");
        opt.out().print(table(bestMetrics));
        opt.out().println("wrote " + runDir.resolve("best.safetensors") + ", last.safetensors, metrics.json, history.json, plots/, "
                + TopLosses.FOLDER + "/ and report.html in " + runDir);
        return new Report(bestMetrics, bestThreshold, state.bestEpoch(), metricsFile);
    }

    /** "youden", "sensitivity:0.95", or a number; 0.5 for more than two classes (arg-max decides there). */
    static double chooseThreshold(String rule, Predictions p, int positive) {
        if (positive < 0) {
            return 0.5;
        }
        Roc roc = Metrics.rocFor(p.probabilities(), p.labels(), positive);
        if (rule == null || rule.equals("youden")) {
            return Double.isNaN(roc.auc()) ? 0.5 : roc.youdenThreshold();
        }
        if (rule.startsWith("sensitivity:")) {
            return Double.isNaN(roc.auc()) ? 0.5 : roc.thresholdForSensitivity(Double.parseDouble(rule.substring("sensitivity:".length())));
        }
        return Double.parseDouble(rule);
    }

    /**
     * The terminal table: overall figures, two-class figures at the threshold, per class, and the confusion matrix
     * with each cell's count and its percentage of the row (the true class).
     */
    public static String table(Metrics m) {
        StringBuilder b = new StringBuilder();
        Table overall = new Table("metric", "value")
                .row("images", m.count())
                .row("accuracy", Table.pct(m.accuracy()))
                .row("balanced accuracy", Table.pct(m.balancedAccuracy()))
                .row(m.binary() != null ? "ROC AUC" : "ROC AUC (macro, one-vs-rest)", Table.num(m.macroAucOneVsRest(), 4));
        if (m.binary() != null) {
            Metrics.Binary bin = m.binary();
            overall.row("threshold (P(" + m.classes().get(bin.positiveClass()) + ") >=)", Table.num(bin.threshold(), 4))
                    .row("sensitivity", Table.pct(bin.sensitivity()))
                    .row("specificity", Table.pct(bin.specificity()))
                    .row("PPV", Table.pct(bin.ppv()))
                    .row("NPV", Table.pct(bin.npv()));
        }
        b.append(overall);
        Table per = new Table("class", "precision", "recall", "support");
        for (int k = 0; k < m.classes().size(); k++) {
            per.row(m.classes().get(k), Table.pct(m.precision()[k]), Table.pct(m.recall()[k]), m.support()[k]);
        }
        b.append('\n').append(per);
        String[] head = new String[m.classes().size() + 1];
        head[0] = "true \\ predicted";
        for (int k = 0; k < m.classes().size(); k++) {
            head[k + 1] = m.classes().get(k);
        }
        Table conf = new Table(head);
        double[][] pct = m.confusionRowPercent();
        for (int t = 0; t < m.classes().size(); t++) {
            Object[] row = new Object[head.length];
            row[0] = m.classes().get(t);
            for (int p = 0; p < m.classes().size(); p++) {
                row[p + 1] = m.confusion()[t][p] + " (" + Table.pct(pct[t][p] / 100) + ")";
            }
            conf.row(row);
        }
        b.append('\n').append(conf);
        return b.toString();
    }

    static void plots(Path dir, List<EpochRecord> history, Metrics m, TrainConfig cfg, int bestEpoch) {
        try {
            int n = history.size();
            double[] trainLoss = new double[n], valLoss = new double[n], trainAcc = new double[n], valAcc = new double[n];
            int boundary = 0;
            for (int i = 0; i < n; i++) {
                EpochRecord r = history.get(i);
                trainLoss[i] = r.trainLoss();
                valLoss[i] = r.valLoss();
                trainAcc[i] = r.trainAccuracy();
                valAcc[i] = r.valAccuracy();
                if (i > 0 && !r.phase().equals(history.get(i - 1).phase())) {
                    boundary = i;
                }
            }
            Map<String, double[]> loss = new LinkedHashMap<>();
            loss.put("train", trainLoss);
            loss.put("validation", valLoss);
            String best = "best epoch " + bestEpoch + " (by validation " + cfg.monitor() + ")";
            Plots.curves(dir.resolve("loss.png"), "Loss per epoch", "cross-entropy", loss, boundary, bestEpoch, best);
            Map<String, double[]> acc = new LinkedHashMap<>();
            acc.put("train", trainAcc);
            acc.put("validation", valAcc);
            Plots.curves(dir.resolve("accuracy.png"), "Accuracy per epoch", "accuracy", acc, boundary, bestEpoch, best);
            writePlotsFor(dir, m, "validation set");
        } catch (IOException e) {
            throw new TrainingException(e.getMessage(), e); // names the plot file
        }
    }

    /** ROC (two classes) and confusion matrix plots of one evaluation. */
    public static void writePlotsFor(Path dir, Metrics m) throws IOException {
        writePlotsFor(dir, m, null);
    }

    /**
     * ROC (two classes; the decision rule's operating point marked) and confusion-matrix plots of one evaluation on
     * the data set {@code dataSet} (named in the titles; null: unnamed).
     */
    public static void writePlotsFor(Path dir, Metrics m, String dataSet) throws IOException {
        if (m.binary() != null && !Double.isNaN(m.binary().roc().auc())) {
            Plots.roc(dir.resolve("roc.png"), m.binary().roc(), m.classes().get(m.binary().positiveClass()), dataSet, m.binary());
        }
        Plots.confusion(dir.resolve("confusion.png"), m, dataSet);
    }

    /** The gallery for metrics.json: rank, file, classes, probabilities, loss and the thumbnail's path. */
    public static List<Map<String, Object>> topLossesJson(TopLosses top, List<String> classes) {
        List<Map<String, Object>> out = new java.util.ArrayList<>();
        for (TopLosses.Entry e : top.entries()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("rank", e.rank());
            j.put("file", e.file().toString());
            j.put("true", classes.get(e.trueClass()));
            j.put("predicted", classes.get(e.predictedClass()));
            j.put("p_predicted", e.predictedProbability());
            j.put("loss", e.loss());
            j.put("thumbnail", e.thumbnail());
            out.add(j);
        }
        return out;
    }

    /** Writes JSON atomically (temp file, then rename). */
    public static void writeJson(Path file, Object value) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".json", ".tmp");
            try {
                JSON.writeValue(tmp.toFile(), value);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new TrainingException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
