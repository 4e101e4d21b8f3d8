package dev.graft.train;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageFolder;
import dev.graft.loaders.images.Sampling;
import dev.graft.models.PrintableText;
import dev.graft.models.ResNet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The test split of a train/val/test layout (or {@code --test DIR}), evaluated once after training on the best model
 * at the decision rule and temperature chosen on validation, as the demo does: table on the terminal, {@code "test"}
 * (and {@code "test_data"}) in metrics.json, plots in {@code test-plots/}. Nothing here feeds back into the run.
 */
public final class TestEvaluation {
    private TestEvaluation() {
    }

    public static Metrics run(Path runDir, Path testDir, TrainConfig cfg, Trainer.Options opt) {
        ModelFile mf = ModelFile.read(runDir.resolve("best.safetensors"));
        ImageFolder test = ImageFolder.scan(testDir);
        if (!test.classes().equals(mf.classes())) {
            throw new DatasetException("test classes " + test.classes() + " in " + testDir + " differ from training classes "
                    + mf.classes() + "; both folders need the same class sub-folders");
        }
        Metrics m;
        try (ResNet net = mf.build(Backends.resolve(cfg.device()).device());
             DataLoader loader = new DataLoader(test.samples(), mf.classes().size(), mf.preprocessing().evaluation(),
                     new DataLoader.Options(cfg.batchSize(), Sampling.Order.SEQUENTIAL, 0, cfg.workers(), cfg.workers() + 1, false,
                             cfg.strict(), cfg.imageDecoding()),
                     w -> opt.warnings().accept(w), opt.imageCache())) {
            Predictions p = Predictions.of(net, loader, net.config().inChannels(), mf.temperature(),
                    Progress.start("test", test.samples().size(), opt.progress()));
            UsableImages.check("test", testDir.toString(), test.samples(), test.classes(), loader.skipped());
            // 95% stratified bootstrap intervals, as for validation: a test set of a few hundred images leaves AUC open by points.
            m = Metrics.compute(p.probabilities(), p.labels(), mf.decision(), Bootstrap.DEFAULT_RESAMPLES, cfg.seed());
        }
        try {
            Report.writePlotsFor(runDir.resolve("test-plots"), m, "test set");
        } catch (IOException e) {
            throw new TrainingException("cannot write plots: " + e.getMessage(), e);
        }
        Path metricsFile = runDir.resolve("metrics.json");
        Map<String, Object> json = new LinkedHashMap<>();
        if (Files.exists(metricsFile)) {
            try {
                json = new ObjectMapper().readValue(metricsFile.toFile(), new TypeReference<LinkedHashMap<String, Object>>() { });
            } catch (IOException e) {
                throw new TrainingException("cannot read " + metricsFile + ": " + e.getMessage(), e);
            }
        }
        json.put("test_data", testDir.toString());
        json.put("test", m.toMap());
        Report.writeJson(metricsFile, json);
        addToReport(runDir.resolve("report.html"), m, testDir);
        opt.out().println();
        opt.out().println("Test metrics of the best model on " + m.count() + " images of " + PrintableText.escape(testDir.toString())
                + " (used once, after training; threshold and temperature chosen on validation):");
        opt.out().print(Report.table(m));
        opt.out().println("wrote test metrics into metrics.json (\"test\"), report.html and test-plots/ in " + runDir);
        return m;
    }

    /** Puts a test section after the validation metrics of the run's report.html (left alone if there is none). */
    private static void addToReport(Path report, Metrics m, Path testDir) {
        if (!Files.isRegularFile(report)) {
            return;
        }
        try {
            HtmlReport section = new HtmlReport("test");
            section.heading("Test metrics of the best model").paragraph(m.count() + " images of " + testDir
                    + ", evaluated once after training at the threshold and temperature chosen on validation.").metrics(m);
            for (String f : java.util.List.of("roc", "confusion", "reliability")) {
                section.image(report.resolveSibling("test-plots").resolve(f + ".png"), "test " + f);
            }
            String page = Files.readString(report, StandardCharsets.UTF_8);
            int at = page.indexOf("<h2>Plots</h2>");
            at = at >= 0 ? at : page.lastIndexOf("</body>");
            if (at < 0) {
                return;
            }
            OutputFiles.write(report, (page.substring(0, at) + section.sections() + page.substring(at)).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new TrainingException("cannot add the test metrics to " + report + ": " + e.getMessage(), e);
        }
    }
}
