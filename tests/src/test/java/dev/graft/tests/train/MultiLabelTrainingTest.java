package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.loaders.labels.LabeledSet;
import dev.graft.models.DecisionRule;
import dev.graft.runtime.Classifier;
import dev.graft.runtime.Prediction;
import dev.graft.train.ModelFile;
import dev.graft.train.MultiLabelRun;
import dev.graft.train.TrainConfig;
import dev.graft.train.Trainer;
import dev.graft.train.TrainingException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A multi-label run end to end through the one training loop, on a generated set ({@link MultiLabelImages}): one
 * sigmoid per label, masked binary cross-entropy with --class-weights auto, per-label thresholds chosen on validation,
 * the per-label table and metrics.json, the model file's multi-label metadata, the test set at the end, and --resume
 * continuing bit for bit (refused with a clear error when the sets differ).
 */
class MultiLabelTrainingTest {

    static TrainConfig config(Path run, String data, String monitor, String classWeights) {
        return new TrainConfig(data, "val", 0.2, TrainCommandTest.TINY, null, run.toString(), 16, 16, 8, 0, 6, 0.01, 100, "adamw", 0.9,
                0.01, false, "onecycle", 0, classWeights, 0, 0, "hold", null, "none", "shuffle", 3, 2, "cpu", monitor, "youden",
                null, false, null, false, false, null);
    }

    @Test
    void trainsPerLabelAndReportsATableWithThresholdsChosenOnValidation(@TempDir Path dir) throws IOException {
        LabeledSet train = MultiLabelImages.set(dir.resolve("train"), 1, 64);
        LabeledSet val = MultiLabelImages.set(dir.resolve("val"), 2, 24);
        LabeledSet test = MultiLabelImages.set(dir.resolve("test"), 3, 24);
        Path run = dir.resolve("run");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<String> warnings = new ArrayList<>();
        Trainer.Options opt = new Trainer.Options(false, new PrintStream(bytes, true, StandardCharsets.UTF_8), warnings::add, 0);
        Trainer.Result r = Trainer.trainMultiLabel(config(run, "generated", "auc", "auto"),
                MultiLabelRun.of(train, val, test, "auto"), 0, opt);
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(r.completed(), out);
        assertTrue(out.contains("multi-label, 3 labels"), out);
        assertTrue(out.contains("AUC [95% CI]") && out.contains("positives/known"), out);
        assertTrue(out.contains("mean (2 of 3 labels)"), "the label without positives is left out of the mean:\n" + out);
        assertTrue(out.contains("Test metrics of the best model"), out);

        JsonNode m = new ObjectMapper().readTree(run.resolve("metrics.json").toFile());
        assertTrue(m.get("multi_label").asBoolean());
        JsonNode v = m.get("validation");
        assertEquals(3, v.get("labels").size());
        JsonNode never = v.get("labels").get(2);
        assertTrue(never.get("auc").isNull(), "no positives: no AUC");
        assertEquals(0, never.get("positives").asInt());
        // A bright quadrant is easy: six epochs on 64 images separate it well on unseen images (measured: 0.96 at epoch 5).
        assertTrue(v.get("mean_auc").asDouble() >= 0.85, "validation mean AUC " + v.get("mean_auc"));
        assertTrue(m.get("test").get("mean_auc").asDouble() >= 0.8, "test mean AUC " + m.get("test").get("mean_auc"));
        // Known counts: every target the generator did not blank.
        int knownTop = 0;
        for (var im : val.images()) {
            knownTop += Float.isNaN(im.targets()[0]) ? 0 : 1;
        }
        assertEquals(knownTop, v.get("labels").get(0).get("known").asInt());
        // --class-weights auto: negatives / positives per label over known training targets; 1 without positives.
        int pos = 0, neg = 0;
        for (var im : train.images()) {
            float t = im.targets()[1];
            pos += t == 1 ? 1 : 0;
            neg += t == 0 ? 1 : 0;
        }
        assertEquals(neg / (double) pos, m.get("positive_weights").get(1).asDouble(), 1e-6);
        assertEquals(1.0, m.get("positive_weights").get(2).asDouble());

        ModelFile best = ModelFile.read(run.resolve("best.safetensors"));
        DecisionRule.PerLabel rule = best.perLabel();
        assertNotNull(rule, "the model file says it is multi-label");
        assertEquals(MultiLabelImages.LABELS, rule.labels());
        for (int j = 0; j < 2; j++) {
            assertEquals(v.get("labels").get(j).get("threshold").asDouble(), rule.thresholds()[j], 0, "threshold of label " + j);
        }
        assertEquals(0.5, rule.thresholds()[2], "no AUC: threshold 0.5");
        // describe / inspect speak of labels, not classes.
        assertTrue(best.describe().contains("3 labels (multi-label: one sigmoid per label, [top, bottom, never], thresholds ")
                && !best.describe().contains("classes"), best.describe());
        TrainCommandTest.Run inspect = TrainCommandTest.graft("inspect", run.resolve("best.safetensors").toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("3 labels (multi-label: one sigmoid per label, [top, bottom, never]"), inspect.out());
        TrainCommandTest.Run inspectJson = TrainCommandTest.graft("inspect", "--json", run.resolve("best.safetensors").toString());
        assertEquals(0, inspectJson.code(), inspectJson.err());
        JsonNode arch = new ObjectMapper().readTree(inspectJson.out()).get("architecture");
        assertTrue(arch.get("multi_label").asBoolean());
        assertEquals(3, arch.get("labels").size());

        // graft predict: one probability and one call per label, at the file's thresholds; the runtime agrees.
        List<String> args = new ArrayList<>(List.of("predict", "--model", run.resolve("best.safetensors").toString(), "--csv",
                "--device", "cpu"));
        test.images().forEach(im -> args.add(im.path().toString()));
        TrainCommandTest.Run pr = TrainCommandTest.graft(args.toArray(String[]::new));
        assertEquals(0, pr.code(), pr.out() + pr.err());
        String[] lines = pr.out().strip().split("\n");
        assertEquals("file,positive,p_top,p_bottom,p_never,top,bottom,never,error", lines[0]);
        assertEquals(test.images().size() + 1, lines.length);
        int right = 0, known = 0;
        try (Classifier c = Classifier.load(run.resolve("best.safetensors"), Classifier.Options.defaults().withDevice("cpu"))) {
            assertTrue(c.info().multiLabel());
            for (int i = 0; i < test.images().size(); i++) {
                String[] f = lines[i + 1].split(",", -1);
                Prediction p = c.classify(test.images().get(i).path());
                for (int j = 0; j < 3; j++) {
                    double prob = Double.parseDouble(f[2 + j]);
                    boolean call = f[5 + j].equals("1");
                    assertEquals(prob >= rule.thresholds()[j], call, "line " + (i + 1) + " label " + j + ": the call is P >= threshold");
                    assertEquals(prob, p.probabilities()[j], 1e-5, "runtime vs predict, image " + i + " label " + j);
                    assertEquals(call, p.positives()[j], "runtime vs predict call, image " + i + " label " + j);
                    float truth = test.images().get(i).targets()[j];
                    if (!Float.isNaN(truth)) {
                        known++;
                        right += call == (truth == 1) ? 1 : 0;
                    }
                }
            }
        }
        assertTrue(right >= 0.85 * known, right + " of " + known + " known test targets called right");
        TrainCommandTest.Run json = TrainCommandTest.graft("predict", "--model", run.resolve("best.safetensors").toString(), "--json",
                "--device", "cpu", test.images().get(0).path().toString());
        assertEquals(0, json.code(), json.err());
        JsonNode j0 = new ObjectMapper().readTree(json.out()).get(0);
        assertEquals(3, j0.get("probabilities").size());
        assertEquals(3, j0.get("positive").size());
        assertEquals(3, j0.get("thresholds").size());
        TrainCommandTest.Run refused = TrainCommandTest.graft("predict", "--model", run.resolve("best.safetensors").toString(),
                "--threshold", "0.3", test.images().get(0).path().toString());
        assertTrue(refused.code() != 0 && refused.err().contains("multi-label"), refused.err());

        // report.html: every label's row with the AUC metrics.json holds (same figure, printed to 4 decimals), test included.
        String html = Files.readString(run.resolve("report.html"));
        for (String section : List.of("validation", "test")) {
            JsonNode labels = m.get(section).get("labels");
            String part = section.equals("validation") ? html.substring(0, html.indexOf("Test metrics of the best model"))
                    : html.substring(html.indexOf("Test metrics of the best model"), html.indexOf("<h2>Plots</h2>"));
            for (int j = 0; j < labels.size(); j++) {
                JsonNode l = labels.get(j);
                String auc = l.get("auc").isNull() ? "n/a" : String.format(java.util.Locale.ROOT, "%.4f", l.get("auc").asDouble());
                assertTrue(part.contains("<td>" + MultiLabelImages.LABELS.get(j) + "</td><td class=\"n\">" + auc + "</td>"),
                        section + " row of " + MultiLabelImages.LABELS.get(j) + " with AUC " + auc + ":\n" + part);
            }
        }
        assertTrue(html.contains("alt=\"roc\"") && html.contains("alt=\"auc\"") && html.contains("alt=\"loss\""), "the three plots");
        assertTrue(Files.exists(run.resolve("plots/auc.png")));

        // A finished run: resuming it without its label sets, or with other sets, is refused with what to do.
        TrainingException e = assertThrows(TrainingException.class, () -> Trainer.resume(run, null, null, false, opt));
        assertTrue(e.getMessage().contains("multi-label") && e.getMessage().contains("label sets"), e.getMessage());
        TrainingException other = assertThrows(TrainingException.class, () -> Trainer.resumeMultiLabel(run,
                MultiLabelRun.of(train, test, null, "auto"), null, null, false, new Trainer.More(0, 1, null), opt));
        assertTrue(other.getMessage().contains("differ from the ones it was trained on"), other.getMessage());
        assertTrue(Files.exists(run.resolve("plots/roc.png")));
    }

    /** Labels are data: in report.html they are escaped, never markup (written atomically: no temporary file left). */
    @Test
    void reportEscapesLabels(@TempDir Path dir) throws IOException {
        List<String> labels = List.of("<b>top</b>", "bottom & \"co\"", "never'");
        LabeledSet train = relabelled(MultiLabelImages.set(dir.resolve("train"), 4, 16), labels);
        LabeledSet val = relabelled(MultiLabelImages.set(dir.resolve("val"), 5, 16), labels);
        Path run = dir.resolve("run");
        TrainConfig base = config(run, "generated", "auc", "none");
        TrainConfig cfg = new TrainConfig(base.data(), base.val(), base.valFraction(), base.arch(), null, base.out(), base.imageSize(),
                base.resizeSize(), base.batchSize(), 0, 1, base.lr(), base.lrMult(), base.optimizer(), base.momentum(), base.weightDecay(),
                base.nesterov(), base.schedule(), base.warmupEpochs(), base.classWeights(), base.labelSmoothing(), base.clipGradNorm(),
                base.bnPolicy(), base.unfreezeFrom(), base.augment(), base.sampler(), base.seed(), base.workers(), base.device(),
                base.monitor(), base.threshold(), base.positiveClass(), base.strict(), base.maxImagePixels(), base.lenient(),
                base.calibrate(), null);
        assertTrue(Trainer.trainMultiLabel(cfg, MultiLabelRun.of(train, val, null, "none"), 0, quiet(0)).completed());
        String html = Files.readString(run.resolve("report.html"));
        assertTrue(html.contains("<td>&lt;b&gt;top&lt;/b&gt;</td>"), html);
        assertTrue(html.contains("<td>bottom &amp; &quot;co&quot;</td>"), html);
        assertTrue(html.contains("<td>never&#39;</td>") || html.contains("<td>never&#x27;</td>"), html);
        assertTrue(!html.contains("<b>top</b>"), "no label reaches the page as markup");
        try (var files = Files.list(run)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary file left");
        }
    }

    private static LabeledSet relabelled(LabeledSet s, List<String> labels) {
        return new LabeledSet(labels, s.images(), s.description());
    }

    /**
     * Resuming a multi-label run continues it exactly, as a single-label one does
     * (TrainCommandTest#resumedRunIsBitIdenticalToAnUninterruptedOneOnTheReferenceBackend): both phases with augmentation
     * on the reference backend, stopped after epoch 1 and after epoch 2 and resumed each time; the saved weights are equal
     * tensor for tensor (no tolerance: data order and augmentation depend only on seed, epoch and position, and the
     * reference backend's arithmetic is deterministic) and history.json equal but for its wall-clock fields. Then the
     * finished run takes one more epoch, and the sets' fingerprint refuses other data.
     */
    @Test
    void resumedMultiLabelRunIsBitIdenticalToAnUninterruptedOne(@TempDir Path dir) throws IOException {
        TrainCommandTest.Run pre = TrainCommandTest.graft(TrainCommandTest.trainArgs(SyntheticImages.folder(dir.resolve("pretrain"), 5, 8, 8),
                dir.resolve("pre"), "cpu", "--head-epochs", "1", "--finetune-epochs", "0").toArray(String[]::new));
        assertEquals(0, pre.code(), pre.out() + pre.err());
        Path weights = dir.resolve("pre/last.safetensors");
        LabeledSet train = MultiLabelImages.set(dir.resolve("train"), 8, 32);
        LabeledSet val = MultiLabelImages.set(dir.resolve("val"), 9, 16);
        Path straight = dir.resolve("straight");
        Path split = dir.resolve("split");
        for (Path run : List.of(straight, split)) {
            TrainConfig base = config(run, "generated", "auc", "auto");
            TrainConfig cfg = new TrainConfig(base.data(), base.val(), base.valFraction(), base.arch(), weights.toString(), base.out(),
                    base.imageSize(), base.resizeSize(), base.batchSize(), 2, 2, base.lr(), base.lrMult(), base.optimizer(),
                    base.momentum(), base.weightDecay(), base.nesterov(), base.schedule(), base.warmupEpochs(), base.classWeights(),
                    base.labelSmoothing(), base.clipGradNorm(), base.bnPolicy(), base.unfreezeFrom(), "crop=0.8,flip=0.5", base.sampler(),
                    base.seed(), base.workers(), "reference", base.monitor(), base.threshold(), base.positiveClass(), base.strict(),
                    base.maxImagePixels(), base.lenient(), base.calibrate(), null);
            Trainer.Result r = Trainer.trainMultiLabel(cfg, MultiLabelRun.of(train, val, null, "auto"), 0, quiet(run == split ? 1 : 0));
            assertEquals(run == straight, r.completed());
        }
        assertTrue(!Files.exists(split.resolve("metrics.json")), "the stopped run did not finish");
        assertTrue(!Trainer.resumeMultiLabel(split, MultiLabelRun.of(train, val, null, "auto"), null, null, false, Trainer.More.NOTHING,
                quiet(1)).completed());
        assertTrue(Trainer.resumeMultiLabel(split, MultiLabelRun.of(train, val, null, "auto"), null, null, false, Trainer.More.NOTHING,
                quiet(0)).completed());
        for (String f : List.of("last.safetensors", "best.safetensors")) {
            dev.graft.engine.StateDict a = dev.graft.loaders.StateDicts.read(straight.resolve(f));
            dev.graft.engine.StateDict b = dev.graft.loaders.StateDicts.read(split.resolve(f));
            assertEquals(a.keys(), b.keys());
            for (String k : a.keys()) {
                assertEquals(a.get(k), b.get(k), f + " " + k + " differs after resuming");
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(ModelFile.read(straight.resolve(f)).perLabel().thresholds(),
                    ModelFile.read(split.resolve(f)).perLabel().thresholds(), f + " thresholds");
        }
        assertEquals(withoutTimings(straight.resolve("history.json")), withoutTimings(split.resolve("history.json")));
        JsonNode ms = new ObjectMapper().readTree(straight.resolve("metrics.json").toFile());
        JsonNode mp = new ObjectMapper().readTree(split.resolve("metrics.json").toFile());
        assertEquals(ms.get("validation"), mp.get("validation"), "the per-label validation metrics");

        Trainer.Result more = Trainer.resumeMultiLabel(split, MultiLabelRun.of(train, val, null, "auto"), null, null, false,
                new Trainer.More(0, 1, null), quiet(0));
        assertTrue(more.completed());
        assertEquals(5, more.history().size());
        TrainingException e = assertThrows(TrainingException.class, () -> Trainer.resumeMultiLabel(split,
                MultiLabelRun.of(train, val, null, "none"), null, null, false, new Trainer.More(0, 1, null), quiet(0)));
        assertTrue(e.getMessage().contains("differ from the ones it was trained on"), e.getMessage());
    }

    private static Trainer.Options quiet(int stopAfterEpochs) {
        return new Trainer.Options(false, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), w -> { },
                stopAfterEpochs);
    }

    /** history.json without wall-clock fields, which legitimately differ between runs. */
    private static JsonNode withoutTimings(Path history) throws IOException {
        JsonNode h = new ObjectMapper().readTree(history.toFile());
        for (JsonNode e : h) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) e).remove(List.of("seconds", "imagesPerSecond"));
        }
        return h;
    }

    /**
     * With pretrained weights the run has both phases, and phase 1 (no augmentation, batch norm held) runs on cached
     * backbone features: the cached head epochs give the same losses as running the backbone every epoch (the same
     * batches; the features differ only by the rounding of batched vs unbatched evaluation, hence 1e-4 relative).
     */
    @Test
    void bothPhasesAndTheFeatureCacheAgreeWithTheUncachedHead(@TempDir Path dir) throws IOException {
        // "Pretrained" weights: one head epoch of a stripe classifier on cpu (any trained file of the architecture serves).
        TrainCommandTest.Run pre = TrainCommandTest.graft(TrainCommandTest.trainArgs(SyntheticImages.folder(dir.resolve("pretrain"), 5, 8, 8),
                dir.resolve("pre"), "cpu", "--head-epochs", "1", "--finetune-epochs", "0").toArray(String[]::new));
        assertEquals(0, pre.code(), pre.out() + pre.err());
        Path weights = dir.resolve("pre/last.safetensors");
        LabeledSet train = MultiLabelImages.set(dir.resolve("train"), 6, 32);
        LabeledSet val = MultiLabelImages.set(dir.resolve("val"), 7, 16);
        double[][] losses = new double[2][];
        for (int k = 0; k < 2; k++) {
            Path run = dir.resolve("run" + k);
            TrainConfig base = config(run, "generated", "loss", "none");
            TrainConfig cfg = new TrainConfig(base.data(), base.val(), base.valFraction(), base.arch(), weights.toString(), base.out(),
                    base.imageSize(), base.resizeSize(), base.batchSize(), 2, 1, base.lr(), base.lrMult(), base.optimizer(),
                    base.momentum(), base.weightDecay(), base.nesterov(), base.schedule(), base.warmupEpochs(), base.classWeights(),
                    base.labelSmoothing(), base.clipGradNorm(), base.bnPolicy(), base.unfreezeFrom(), base.augment(), base.sampler(),
                    base.seed(), base.workers(), base.device(), base.monitor(), base.threshold(), base.positiveClass(), base.strict(),
                    base.maxImagePixels(), base.lenient(), base.calibrate(), null);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            Trainer.Options opt = new Trainer.Options(false, new PrintStream(bytes, true, StandardCharsets.UTF_8), w -> { }, 0, k == 0);
            Trainer.Result r = Trainer.trainMultiLabel(cfg, MultiLabelRun.of(train, val, null, "none"), 0, opt);
            String out = bytes.toString(StandardCharsets.UTF_8);
            assertTrue(r.completed(), out);
            assertEquals(k == 0, out.contains("cached backbone features"), out);
            assertEquals(3, r.history().size());
            assertEquals("head", r.history().get(0).phase(), out);
            losses[k] = new double[] {r.history().get(0).trainLoss(), r.history().get(0).valLoss(), r.history().get(1).valLoss()};
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(losses[1][i], losses[0][i], 1e-4 * Math.abs(losses[1][i]), "cached vs uncached head, figure " + i);
        }
    }
}
