package dev.graft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.cli.Table;
import dev.graft.loaders.images.ImageFolder.Sample;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.DecisionRule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code report.html} of a training run: validation metrics of the best model, history, plots, worst images, settings. */
final class RunReport {
    /** Validation images shown in a run's top-loss gallery. */
    static final int TOP_LOSSES = 16;

    private RunReport() {
    }

    /** The validation set's top losses under the best model, written into the run folder. */
    static TopLosses topLosses(Path runDir, Predictions validation, List<Sample> samples, DecisionRule rule, List<String> classes,
                               Preprocessing pre, TrainConfig cfg, Overlay overlay) {
        List<Path> files = new ArrayList<>();
        int[] predicted = new int[validation.labels().length];
        for (int i = 0; i < predicted.length; i++) {
            files.add(samples.get(validation.sampleIndices()[i]).path());
            predicted[i] = rule.decide(validation.probabilities()[i]);
        }
        try {
            return TopLosses.write(runDir, validation, files, predicted, classes, pre, cfg.imageDecoding(), overlay, TOP_LOSSES);
        } catch (IOException e) {
            throw new TrainingException(e.getMessage(), e);
        }
    }

    static void write(Path runDir, TrainConfig cfg, TrainState state, Metrics validation, Predictions pred, TopLosses top,
                      List<String> classes, String architecture) {
        try {
            HtmlReport html = new HtmlReport("Training run " + runDir.toAbsolutePath().normalize().getFileName());
            html.heading("Validation metrics of the best model").paragraph(String.format(Locale.ROOT,
                    "Best epoch %d of %d, chosen by validation %s; the decision threshold is chosen on the same validation set "
                            + "(rule: %s), so these figures are optimistic: evaluate on held-out images with 'graft evaluate'. "
                            + "Mean validation cross-entropy %s.", state.bestEpoch(), state.epochsDone(), cfg.monitor(), cfg.threshold(),
                    Table.num(pred.meanLoss(), 4)))
                    .metrics(validation);
            html.heading("Plots");
            for (String f : List.of("loss", "accuracy", "roc", "confusion", "reliability")) {
                html.image(runDir.resolve("plots").resolve(f + ".png"), f);
            }
            html.heading("History").table(List.of("epoch", "phase", "train loss", "train acc", "val loss", "val acc", "val AUC", "peak lr",
                    "seconds"), history(state));
            if (!top.entries().isEmpty()) {
                html.heading("Top " + top.entries().size() + " validation losses (best model)").gallery(top, classes, runDir);
            }
            Map<String, Object> config = new LinkedHashMap<>();
            config.put("model", architecture);
            config.put("classes", classes);
            @SuppressWarnings("unchecked")
            Map<String, Object> options = new ObjectMapper().convertValue(cfg, Map.class);
            options.forEach((k, v) -> config.put(k, v));
            config.put("versions", HtmlReport.version());
            html.heading("Configuration").keyValues(config);
            html.write(runDir.resolve("report.html"));
        } catch (IOException e) {
            throw new TrainingException(e.getMessage(), e);
        }
    }

    private static List<List<String>> history(TrainState state) {
        List<List<String>> rows = new ArrayList<>();
        for (EpochRecord r : state.history()) {
            rows.add(List.of(r.epoch() + (r.epoch() == state.bestEpoch() ? " (best)" : ""), r.phase(), Table.num(r.trainLoss(), 4),
                    Table.pct(r.trainAccuracy()), Table.num(r.valLoss(), 4), Table.pct(r.valAccuracy()), Table.num(r.valAuc(), 4),
                    String.format(Locale.ROOT, "%.2e", r.lr()), String.format(Locale.ROOT, "%.1f", r.seconds())));
        }
        return rows;
    }
}
