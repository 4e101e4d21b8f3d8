package dev.graft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.graft.cli.Table;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.loaders.images.Sampling;
import dev.graft.models.DecisionRule;
import dev.graft.models.GradCam;
import dev.graft.models.ResNet;
import dev.graft.models.Temperature;

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
        Calibrated bestCal;
        TopLosses top;
        try (DataLoader val = new DataLoader(data.validation(), data.classes().size(), pre.evaluation(),
                new DataLoader.Options(cfg.batchSize(), Sampling.Order.SEQUENTIAL, cfg.seed(), cfg.workers(), cfg.workers() + 1, false, cfg.strict(),
                        cfg.imageDecoding()),
                opt.warnings(), opt.imageCache())) {
            // The last model is in memory; the best one is read back from its file. With --calibrate each model gets its
            // own temperature, and its threshold is chosen on the calibrated probabilities, as predict will compute them.
            Calibrated lastCal = calibrated(cfg, data, last, val, inputChannels, opt, "last model",
                    Predictions.of(last, val, inputChannels, Progress.start("final validation", val.size(), opt.progress())));
            Predictions lastPred = lastCal.predictions();
            double lastThreshold = chooseThreshold(cfg.threshold(), lastPred, data.positiveClass());
            ModelFile.write(runDir.resolve("last.safetensors"), last, data.classes(), pre, lastThreshold, Math.max(0, data.positiveClass()),
                    lastCal.temperature(), cfg);
            ModelFile bestFile = ModelFile.read(runDir.resolve("best.safetensors"));
            try (ResNet best = bestFile.build(last.device())) {
                best.setBatchNormPolicy(last.batchNormPolicy());
                bestCal = state.bestEpoch() == state.epochsDone() ? lastCal
                        : calibrated(cfg, data, best, val, inputChannels, opt, "best model",
                                Predictions.of(best, val, inputChannels, Progress.start("best model", val.size(), opt.progress())));
                Predictions bestPred = bestCal.predictions();
                bestThreshold = chooseThreshold(cfg.threshold(), bestPred, data.positiveClass());
                ModelFile.write(runDir.resolve("best.safetensors"), best, data.classes(), pre, bestThreshold, Math.max(0, data.positiveClass()),
                        bestCal.temperature(), cfg);
                rule = data.positiveClass() < 0 ? DecisionRule.argmax(data.classes())
                        : DecisionRule.of(data.classes(), data.positiveClass(), bestThreshold, "--threshold");
                bestMetrics = Metrics.compute(bestPred.probabilities(), bestPred.labels(), rule, Bootstrap.DEFAULT_RESAMPLES, cfg.seed());
                validation = bestPred;
                // The gallery's heat maps explain the best model, which is open only here.
                top = RunReport.topLosses(runDir, validation, data.validation(), rule, data.classes(), pre, cfg,
                        new CamOverlay(best, GradCam.Method.GRAD_CAM, pre, cfg.imageDecoding(), CamOverlay.ALPHA));
            }
        }
        Path metricsFile = runDir.resolve("metrics.json");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("best_epoch", state.bestEpoch());
        m.put("monitor", cfg.monitor());
        m.put("threshold_rule", cfg.threshold());
        m.put("epochs", state.epochsDone());
        m.put("schedule_segments", state.segments());
        m.put("early_stopping", Map.of("patience", state.patience(), "stops", state.stops()));
        m.put("validation", bestMetrics.toMap());
        if (bestCal.fit() != null) {
            m.put("temperature_scaling", bestCal.toMap());
        }
        m.put("config", cfg);
        plots(runDir.resolve("plots"), state.history(), bestMetrics, cfg, state.bestEpoch());
        m.put("top_losses_validation", topLossesJson(top, data.classes()));
        writeJson(metricsFile, m);
        writeJson(runDir.resolve("history.json"), state.history());
        RunReport.write(runDir, cfg, state, bestMetrics, validation, top, data.classes(), last.config().describe());
        opt.out().println();
        opt.out().println("Validation metrics of the best model (epoch " + state.bestEpoch() + ", by " + cfg.monitor() + "):");
        opt.out().print(table(bestMetrics));
        if (bestCal.fit() != null) {
            opt.out().println(bestCal.describe());
        }
        opt.out().println("wrote " + runDir.resolve("best.safetensors") + ", last.safetensors, metrics.json, history.json, plots/, "
                + TopLosses.FOLDER + "/ and report.html in " + runDir);
        return new Report(bestMetrics, bestThreshold, state.bestEpoch(), metricsFile);
    }

    /**
     * Validation predictions of one model and the temperature they use: T fitted on {@code uncalibrated} (NaN, none,
     * without {@code --calibrate}, or when the fit ended on a bound of [{@value Temperature#MIN}, {@value Temperature#MAX}]:
     * a T of 0.01 makes every probability 0 or 1, which is what a perfectly separated validation set asks for and no
     * clinician should be shown). The fit takes the log-probabilities as logits; the calibrated predictions are
     * computed again from the network's logits, the path {@code graft predict} and {@code graft evaluate} take, so a
     * threshold chosen on them decides the same images the same way there.
     */
    record Calibrated(double temperature, Predictions predictions, TemperatureScaling.Fit fit, double eceBefore, double eceAfter,
                      String binned) {
        String describe() {
            if (Double.isNaN(temperature)) {
                return String.format(Locale.ROOT, "temperature scaling: the fit on %d validation images ended on the bound %s, so it "
                        + "was not applied (the model files keep T = 1)", predictions.labels().length, Temperature.describe(fit.temperature()));
            }
            return String.format(Locale.ROOT, "temperature scaling: %s fitted on %d validation images; NLL %.4f -> %.4f, ECE (%s) %.4f -> %.4f"
                    + " (the ECE after is measured on the images T was fitted on)",
                    Temperature.describe(temperature), predictions.labels().length, fit.nllBefore(), fit.nllAfter(), binned, eceBefore, eceAfter);
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("temperature", Double.isNaN(temperature) ? null : temperature);
            m.put("applied", !Double.isNaN(temperature));
            m.put("fitted_temperature", fit.temperature());
            m.put("fitted_on", "validation");
            m.put("images", predictions.labels().length);
            m.put("nll_before", fit.nllBefore());
            m.put("nll_after", fit.nllAfter());
            m.put("ece_before", eceBefore);
            m.put("ece_after", Double.isNaN(eceAfter) ? null : eceAfter);
            m.put("at_bound", fit.atBound());
            return m;
        }
    }

    static Calibrated calibrated(TrainConfig cfg, RunData data, ResNet model, DataLoader val, int inputChannels, Trainer.Options opt, String which,
                                 Predictions uncalibrated) {
        if (!cfg.calibrate()) {
            return new Calibrated(Double.NaN, uncalibrated, null, Double.NaN, Double.NaN, null);
        }
        TemperatureScaling.Fit fit = TemperatureScaling.fit(TemperatureScaling.logits(uncalibrated.probabilities()), uncalibrated.labels());
        int pos = data.positiveClass(); // -1 beyond two classes: top-label reliability, as Metrics bins it
        Reliability before = Reliability.compute(uncalibrated.probabilities(), uncalibrated.labels(), pos, data.classes());
        if (fit.atBound()) {
            opt.warnings().accept(String.format(Locale.ROOT, "--calibrate: the %s's temperature fit ended on the bound %s of [%s, %s] "
                    + "(on the validation set the NLL keeps falling beyond it: a model that separates the validation set perfectly "
                    + "pushes T towards 0), so it is not applied and the model file keeps T = 1; a larger validation set gives a usable fit",
                    which, Temperature.describe(fit.temperature()), Temperature.MIN, Temperature.MAX));
            return new Calibrated(Double.NaN, uncalibrated, fit, before.ece(), Double.NaN, before.binned());
        }
        Predictions calibrated = Predictions.of(model, val, inputChannels, fit.temperature(),
                Progress.start("calibrated " + which, val.size(), opt.progress()));
        Reliability after = Reliability.compute(calibrated.probabilities(), calibrated.labels(), pos, data.classes());
        return new Calibrated(fit.temperature(), calibrated, fit, before.ece(), after.ece(), after.binned());
    }

    /** "youden", "sensitivity:0.95", or a number; 0.5 for more than two classes (arg-max decides there). */
    static double chooseThreshold(String rule, Predictions p, int positive) {
        if (positive < 0) {
            return 0.5;
        }
        return thresholdFrom(rule, Metrics.rocFor(p.probabilities(), p.labels(), positive));
    }

    /** The threshold {@code rule} ("youden", "sensitivity:0.95" or a number) picks on {@code roc}; 0.5 where it has no AUC. */
    static double thresholdFrom(String rule, Roc roc) {
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
    /**
     * The overall figures of one evaluation as [name, value] rows, values with their 95% intervals where there are
     * some: the terminal table and report.html both show these.
     */
    static List<List<String>> overallRows(Metrics m) {
        List<List<String>> rows = new java.util.ArrayList<>();
        rows.add(List.of("images", Integer.toString(m.count())));
        // Accuracy is named by how images are decided: argmax (the epoch lines' "acc (argmax)", fastai's accuracy) and,
        // where a threshold decides differently, at that threshold too (the figure predict's labels give).
        String atRule = atRule(m);
        if (atRule == null) {
            rows.add(List.of("accuracy (argmax)", withCi(m, "accuracy", Table.pct(m.accuracy()), true)));
            rows.add(List.of("balanced accuracy", Table.pct(m.balancedAccuracy())));
        } else {
            rows.add(List.of("accuracy (argmax)", Table.pct(m.argmaxAccuracy())));
            rows.add(List.of("accuracy " + atRule, withCi(m, "accuracy", Table.pct(m.accuracy()), true)));
            rows.add(List.of("balanced accuracy " + atRule, Table.pct(m.balancedAccuracy())));
        }
        rows.add(List.of(m.binary() != null ? "ROC AUC" : "ROC AUC (macro, one-vs-rest)",
                withCi(m, "roc_auc", Table.num(m.macroAucOneVsRest(), 4), false)));
        if (m.uncertainty() != null && m.uncertainty().delongAuc() != null && !Double.isNaN(m.uncertainty().delongAuc().lower())) {
            rows.add(List.of("ROC AUC (DeLong's 95% CI)", Table.num(m.uncertainty().delongAuc().value(), 4) + " "
                    + bracket(m.uncertainty().delongAuc(), false)));
        }
        if (m.binary() != null) {
            Metrics.Binary bin = m.binary();
            rows.add(List.of("threshold (P(" + m.classes().get(bin.positiveClass()) + ") >=)", Table.num(bin.threshold(), 4)));
            rows.add(List.of("sensitivity", withCi(m, "sensitivity", Table.pct(bin.sensitivity()), true)));
            rows.add(List.of("specificity", withCi(m, "specificity", Table.pct(bin.specificity()), true)));
            rows.add(List.of("PPV", withCi(m, "ppv", Table.pct(bin.ppv()), true)));
            rows.add(List.of("NPV", withCi(m, "npv", Table.pct(bin.npv()), true)));
        }
        if (m.calibration() != null) {
            rows.add(List.of("calibration error (ECE, " + m.calibration().binned() + ")", Table.num(m.calibration().ece(), 4)));
        }
        return rows;
    }

    /**
     * "at threshold 0.8450" when the decision rule is not argmax (its threshold is not 0.5, or it decides some image
     * otherwise), so that accuracy and the figures after it are named by the rule; null for argmax.
     */
    static String atRule(Metrics m) {
        boolean differs = !(m.accuracy() == m.argmaxAccuracy()) && !(Double.isNaN(m.accuracy()) && Double.isNaN(m.argmaxAccuracy()));
        if (m.binary() != null && (m.binary().threshold() != 0.5 || differs)) {
            return "at threshold " + Table.num(m.binary().threshold(), 4);
        }
        return differs ? "at the model's decision rule" : null;
    }

    /** The footnote that explains the intervals' brackets, or null when there are none. */
    static String intervalNote(Metrics m) {
        return m.uncertainty() == null ? null : String.format(Locale.ROOT,
                "[lo, hi]: 95%% confidence interval, stratified bootstrap (%d resamples, seed %d, percentile)",
                m.uncertainty().resamples(), m.uncertainty().seed());
    }

    public static String table(Metrics m) {
        StringBuilder b = new StringBuilder();
        Table overall = new Table("metric", "value");
        overallRows(m).forEach(r -> overall.row(r.get(0), r.get(1)));
        b.append(overall);
        if (intervalNote(m) != null) {
            b.append(intervalNote(m)).append(System.lineSeparator());
        }
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

    /** "78.3% [68.3%, 86.7%]" or "0.8960 [0.8126, 0.9710]": the value and its bootstrap interval, when there is one. */
    private static String withCi(Metrics m, String figure, String value, boolean percent) {
        if (m.uncertainty() == null || !m.uncertainty().bootstrap().containsKey(figure)
                || Double.isNaN(m.uncertainty().bootstrap().get(figure).lower())) {
            return value; // no interval, or an undefined one (a class absent from the set)
        }
        return value + " " + bracket(m.uncertainty().bootstrap().get(figure), percent);
    }

    private static String bracket(Uncertainty.Interval i, boolean percent) {
        return percent ? "[" + Table.pct(i.lower()) + ", " + Table.pct(i.upper()) + "]"
                : "[" + Table.num(i.lower(), 4) + ", " + Table.num(i.upper(), 4) + "]";
    }

    /** After Ctrl-C: {@code history.json} and the loss and accuracy curves of the epochs done (no metrics.json: the run is not finished). */
    static void progressSoFar(Path runDir, List<EpochRecord> history, TrainConfig cfg, int bestEpoch) {
        writeJson(runDir.resolve("history.json"), history);
        try {
            curves(runDir.resolve("plots"), history, cfg, bestEpoch);
        } catch (IOException e) {
            throw new TrainingException(e.getMessage(), e);
        }
    }

    static void plots(Path dir, List<EpochRecord> history, Metrics m, TrainConfig cfg, int bestEpoch) {
        try {
            curves(dir, history, cfg, bestEpoch);
            writePlotsFor(dir, m, "validation set");
        } catch (IOException e) {
            throw new TrainingException(e.getMessage(), e); // names the plot file
        }
    }

    private static void curves(Path dir, List<EpochRecord> history, TrainConfig cfg, int bestEpoch) throws IOException {
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
        Plots.curves(dir.resolve("accuracy.png"), "Accuracy per epoch (argmax: the most probable class)", "accuracy (argmax)", acc,
                boundary, bestEpoch, best);
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
            Plots.roc(dir.resolve("roc.png"), m.binary().roc(), m.classes().get(m.binary().positiveClass()), dataSet, m.binary(),
                    m.uncertainty());
        }
        if (m.calibration() != null && m.count() > 0) {
            Plots.reliability(dir.resolve("reliability.png"), m.calibration());
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
            OutputFiles.write(file, JSON.writeValueAsBytes(value));
        } catch (IOException e) {
            throw new TrainingException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
