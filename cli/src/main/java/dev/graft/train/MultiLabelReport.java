package dev.graft.train;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.Device;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.loaders.images.Sampling;
import dev.graft.loaders.labels.LabeledSet;
import dev.graft.models.DecisionRule;
import dev.graft.models.PrintableText;
import dev.graft.models.ResNet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The end of a multi-label run, as {@link Report} is for a single-label one: per-label thresholds chosen on the
 * validation set by the run's rule (Youden's J by default, {@code --target-sensitivity}, or a fixed {@code --threshold}
 * for every label), stored in last.safetensors and best.safetensors ({@link DecisionRule.PerLabel}); the per-label
 * table of the best model ({@link MultiLabelMetrics}) on the terminal and in metrics.json; history.json, the loss
 * curve, the mean validation AUC per epoch and the per-label ROC curves in plots/; report.html with the per-label
 * tables (validation, and test when given), those plots, the history and the settings. Not made for multi-label runs
 * (yet): the top-losses gallery, the accuracy and confusion plots.
 */
public final class MultiLabelReport {
    private MultiLabelReport() {
    }

    static MultiLabelMetrics finish(TrainConfig cfg, Path runDir, ResNet last, MultiLabelRun multi, RunData data, Preprocessing pre,
                                    int inputChannels, TrainState state, Trainer.Options opt) {
        float[][] targets = multi.validationTargets();
        MultiLabelMetrics metrics;
        Predictions bestPred;
        try (DataLoader val = loader(data.validation(), data.classes().size(), pre, cfg, opt)) {
            Predictions lastPred = MultiLabelRun.predict(last, val, inputChannels, targets,
                    Progress.start("final validation", val.size(), opt.progress()));
            ModelFile.writeMultiLabel(runDir.resolve("last.safetensors"), last, pre, MultiLabelMetrics.chooseThresholds(cfg.threshold(),
                    lastPred.probabilities(), MultiLabelRun.targetsOf(lastPred, targets), multi.labels()), cfg);
            ModelFile bestFile = ModelFile.read(runDir.resolve("best.safetensors"));
            try (ResNet best = bestFile.build(last.device())) {
                best.setBatchNormPolicy(last.batchNormPolicy());
                bestPred = state.bestEpoch() == state.epochsDone() ? lastPred : MultiLabelRun.predict(best, val, inputChannels, targets,
                        Progress.start("best model", val.size(), opt.progress()));
                float[][] t = MultiLabelRun.targetsOf(bestPred, targets);
                DecisionRule.PerLabel rule = MultiLabelMetrics.chooseThresholds(cfg.threshold(), bestPred.probabilities(), t, multi.labels());
                ModelFile.writeMultiLabel(runDir.resolve("best.safetensors"), best, pre, rule, cfg);
                metrics = MultiLabelMetrics.compute(bestPred.probabilities(), t, rule);
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("multi_label", true);
        m.put("labels", multi.labels());
        m.put("best_epoch", state.bestEpoch());
        m.put("monitor", cfg.monitor());
        m.put("threshold_rule", cfg.threshold());
        m.put("epochs", state.epochsDone());
        m.put("schedule_segments", state.segments());
        m.put("early_stopping", Map.of("patience", state.patience(), "stops", state.stops()));
        m.put("loss", multi.posWeight() == null ? "binary cross-entropy, mean over known targets"
                : "binary cross-entropy with positive weights, mean over known targets");
        m.put("positive_weights", multi.posWeight());
        m.put("validation_data", multi.validation().description());
        m.put("validation", metrics.toMap());
        m.put("config", cfg);
        Report.writeJson(runDir.resolve("metrics.json"), m);
        Report.writeJson(runDir.resolve("history.json"), state.history());
        plots(runDir.resolve("plots"), state.history(), bestPred, MultiLabelRun.targetsOf(bestPred, targets), multi.labels());
        opt.out().println();
        opt.out().println("Validation metrics of the best model (epoch " + state.bestEpoch() + ", by " + cfg.monitor() + "; thresholds "
                + "chosen on validation by " + (cfg.threshold() == null ? "youden" : cfg.threshold()) + "):");
        opt.out().print(metrics.table());
        opt.out().println("wrote " + runDir.resolve("best.safetensors") + ", last.safetensors, metrics.json, history.json and plots/ in "
                + runDir);
        MultiLabelMetrics testMetrics = multi.test() == null ? null : test(runDir, multi.test(), cfg, opt);
        html(runDir, cfg, state, metrics, multi, testMetrics, last.config().describe());
        opt.out().println("wrote report.html in " + runDir);
        return metrics;
    }

    /** The cells of the per-label table of report.html: the same figures as the terminal's, the interval in its own column. */
    static List<List<String>> rows(MultiLabelMetrics m) {
        List<List<String>> rows = new java.util.ArrayList<>();
        for (MultiLabelMetrics.Row r : m.rows()) {
            boolean none = Double.isNaN(r.auc());
            rows.add(List.of(r.label(), none ? "n/a" : String.format(java.util.Locale.ROOT, "%.4f", r.auc()),
                    none ? "n/a" : String.format(java.util.Locale.ROOT, "[%.4f, %.4f]", r.aucLow(), r.aucHigh()),
                    dev.graft.cli.Table.pct(r.sensitivity()), dev.graft.cli.Table.pct(r.specificity()),
                    dev.graft.cli.Table.num(r.threshold(), 4), r.positives() + "/" + r.known()));
        }
        rows.add(List.of("mean (" + m.labelsInMean() + " of " + m.rows().size() + " labels)",
                Double.isNaN(m.meanAuc()) ? "n/a" : String.format(java.util.Locale.ROOT, "%.4f", m.meanAuc()), "",
                dev.graft.cli.Table.pct(m.meanSensitivity()), dev.graft.cli.Table.pct(m.meanSpecificity()), "", ""));
        return rows;
    }

    private static final List<String> HEADER = List.of("label", "AUC", "95% CI (DeLong)", "sensitivity", "specificity", "threshold",
            "positives/known");

    /** report.html (written atomically; every label, file and setting escaped by {@link HtmlReport}). */
    private static void html(Path runDir, TrainConfig cfg, TrainState state, MultiLabelMetrics validation, MultiLabelRun multi,
                             MultiLabelMetrics test, String architecture) {
        try {
            HtmlReport html = new HtmlReport("Multi-label training run " + runDir.toAbsolutePath().normalize().getFileName());
            html.heading("Validation metrics of the best model").paragraph(String.format(java.util.Locale.ROOT,
                    "Best epoch %d of %d, chosen by validation %s; each label's threshold is chosen on the same validation set "
                            + "(rule: %s), so sensitivity and specificity are optimistic: evaluate on held-out images with "
                            + "'graft evaluate'. Unknown targets are left out of each label's figures; labels without a positive "
                            + "or a negative have no AUC and are left out of the mean. Validation set: %s.", state.bestEpoch(),
                    state.epochsDone(), cfg.monitor(), cfg.threshold() == null ? "youden" : cfg.threshold(), multi.validation().description()))
                    .table(HEADER, rows(validation));
            if (test != null) {
                html.heading("Test metrics of the best model").paragraph(multi.test().images().size() + " images of "
                        + multi.test().description() + ", evaluated once after training at the thresholds chosen on validation.")
                        .table(HEADER, rows(test));
            }
            html.heading("Plots");
            for (String f : List.of("loss", "auc", "roc")) {
                html.image(runDir.resolve("plots").resolve(f + ".png"), f);
            }
            List<List<String>> history = new java.util.ArrayList<>();
            for (EpochRecord r : state.history()) {
                history.add(List.of(r.epoch() + (r.epoch() == state.bestEpoch() ? " (best)" : ""), r.phase(),
                        dev.graft.cli.Table.num(r.trainLoss(), 4), dev.graft.cli.Table.num(r.valLoss(), 4),
                        dev.graft.cli.Table.pct(r.valAccuracy()), dev.graft.cli.Table.num(r.valAuc(), 4),
                        String.format(java.util.Locale.ROOT, "%.2e", r.lr()), String.format(java.util.Locale.ROOT, "%.1f", r.seconds())));
            }
            html.heading("History").table(List.of("epoch", "phase", "train loss", "val loss", "val acc (at 0.5)", "val mean AUC", "peak lr",
                    "seconds"), history);
            Map<String, Object> config = new LinkedHashMap<>();
            config.put("model", architecture);
            config.put("labels", multi.labels());
            config.put("positive weights", multi.posWeight() == null ? "none" : java.util.Arrays.toString(multi.posWeight()));
            @SuppressWarnings("unchecked")
            Map<String, Object> options = new ObjectMapper().convertValue(cfg, Map.class);
            options.forEach(config::put);
            config.put("versions", HtmlReport.version());
            html.heading("Configuration").keyValues(config);
            html.write(runDir.resolve("report.html"));
        } catch (IOException e) {
            throw new TrainingException(e.getMessage(), e);
        }
    }

    /**
     * The test set, once, with the best model at the thresholds chosen on validation: the table on the terminal and
     * {@code "test"} in metrics.json.
     */
    public static MultiLabelMetrics test(Path runDir, LabeledSet test, TrainConfig cfg, Trainer.Options opt) {
        ModelFile mf = ModelFile.read(runDir.resolve("best.safetensors"));
        MultiLabelMetrics metrics = evaluate(mf, test, Backends.device(cfg.device()), cfg.batchSize(), cfg.workers(), cfg.strict(),
                cfg.imageDecoding(), opt, "test");
        Path metricsFile = runDir.resolve("metrics.json");
        Map<String, Object> json = new LinkedHashMap<>();
        if (Files.exists(metricsFile)) {
            try {
                json = new ObjectMapper().readValue(metricsFile.toFile(), new TypeReference<LinkedHashMap<String, Object>>() { });
            } catch (IOException e) {
                throw new TrainingException("cannot read " + metricsFile + ": " + e.getMessage(), e);
            }
        }
        json.put("test_data", test.description());
        json.put("test", metrics.toMap());
        Report.writeJson(metricsFile, json);
        opt.out().println();
        opt.out().println("Test metrics of the best model on " + test.images().size() + " images of " + PrintableText.escape(test.description())
                + " (used once, after training; thresholds chosen on validation):");
        opt.out().print(metrics.table());
        opt.out().println("wrote test metrics into metrics.json (\"test\") in " + runDir);
        return metrics;
    }

    /**
     * A multi-label model file's per-label figures on {@code set} at the thresholds the file holds (what
     * {@code graft evaluate} prints); the set's labels must be the model's, in its order.
     */
    public static MultiLabelMetrics evaluate(ModelFile mf, LabeledSet set, Device device, int batchSize, int workers, boolean strict,
                                             dev.graft.loaders.images.ImageDecoder.Options decoding, Trainer.Options opt, String what) {
        DecisionRule.PerLabel rule = mf.perLabel();
        if (rule == null) {
            throw new TrainingException("the model has one softmax over " + mf.classes() + ", not one sigmoid per label; evaluate it "
                    + "on an image folder (--data) instead of a label CSV");
        }
        if (!set.labels().equals(rule.labels())) {
            throw new TrainingException("the labels of " + set.description() + " " + set.labels() + " differ from the model's "
                    + rule.labels() + "; choose the model's labels, in its order (--targets)");
        }
        try (ResNet net = mf.build(device);
             DataLoader loader = new DataLoader(MultiLabelRun.samples(set), rule.labels().size(), mf.preprocessing().evaluation(),
                     new DataLoader.Options(batchSize, Sampling.Order.SEQUENTIAL, 0, workers, workers + 1, false, strict, decoding),
                     w -> opt.warnings().accept(w), opt.imageCache())) {
            float[][] targets = MultiLabelRun.targets(set);
            Predictions p = MultiLabelRun.predict(net, loader, net.config().inChannels(), targets,
                    Progress.start(what, set.images().size(), opt.progress()));
            if (p.sampleIndices().length == 0) {
                throw new TrainingException("none of the " + set.images().size() + " images of " + set.description() + " could be read");
            }
            return MultiLabelMetrics.compute(p.probabilities(), MultiLabelRun.targetsOf(p, targets), rule);
        }
    }

    private static DataLoader loader(List<dev.graft.loaders.images.ImageFolder.Sample> samples, int classes, Preprocessing pre,
                                     TrainConfig cfg, Trainer.Options opt) {
        return new DataLoader(samples, classes, pre.evaluation(),
                new DataLoader.Options(cfg.batchSize(), Sampling.Order.SEQUENTIAL, cfg.seed(), cfg.workers(), cfg.workers() + 1, false,
                        cfg.strict(), cfg.imageDecoding()),
                opt.warnings(), opt.imageCache());
    }

    private static void plots(Path dir, List<EpochRecord> history, Predictions best, float[][] targets, List<String> labels) {
        try {
            int n = history.size();
            double[] trainLoss = new double[n], valLoss = new double[n];
            int boundary = 0;
            for (int i = 0; i < n; i++) {
                trainLoss[i] = history.get(i).trainLoss();
                valLoss[i] = history.get(i).valLoss();
                if (i > 0 && !history.get(i).phase().equals(history.get(i - 1).phase())) {
                    boundary = i;
                }
            }
            Map<String, double[]> loss = new LinkedHashMap<>();
            loss.put("train", trainLoss);
            loss.put("validation", valLoss);
            Plots.curves(dir.resolve("loss.png"), "Loss per epoch", "binary cross-entropy (mean over known targets)", loss, boundary);
            double[] meanAuc = history.stream().mapToDouble(EpochRecord::valAuc).toArray();
            if (java.util.Arrays.stream(meanAuc).anyMatch(Double::isFinite)) {
                Plots.curves(dir.resolve("auc.png"), "Mean validation AUC per epoch", "mean AUC over labels with both classes",
                        Map.of("validation", meanAuc), boundary);
            }
            Map<String, Roc> curves = new LinkedHashMap<>();
            for (int j = 0; j < labels.size(); j++) {
                int known = 0;
                for (float[] t : targets) {
                    known += Float.isNaN(t[j]) ? 0 : 1;
                }
                double[] s = new double[known];
                boolean[] pos = new boolean[known];
                int k = 0;
                for (int i = 0; i < targets.length; i++) {
                    if (!Float.isNaN(targets[i][j])) {
                        s[k] = best.probabilities()[i][j];
                        pos[k++] = targets[i][j] >= 0.5f;
                    }
                }
                Roc roc = Roc.of(s, pos);
                if (!Double.isNaN(roc.auc())) {
                    curves.put(labels.get(j), roc);
                }
            }
            if (!curves.isEmpty()) {
                Plots.rocCurves(dir.resolve("roc.png"), "ROC per label (validation set)", curves);
            }
        } catch (IOException e) {
            throw new TrainingException(e.getMessage(), e);
        }
    }

    private static final class Backends {
        static Device device(String spec) {
            return dev.graft.engine.backend.Backends.resolve(spec).device();
        }
    }
}
