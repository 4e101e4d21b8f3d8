package dev.graft.cli;

import dev.graft.engine.backend.Backends;
import dev.graft.loaders.images.DataLayout;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageCache;
import dev.graft.loaders.images.ImageFolder;
import dev.graft.loaders.images.Sampling;
import dev.graft.models.DecisionRule;
import dev.graft.models.GradCam;
import dev.graft.models.PrintableText;
import dev.graft.models.ResNet;
import dev.graft.train.CamOverlay;
import dev.graft.train.HtmlReport;
import dev.graft.models.Temperature;
import dev.graft.train.Bootstrap;
import dev.graft.train.Metrics;
import dev.graft.train.ModelFile;
import dev.graft.train.OptionChecks;
import dev.graft.train.Predictions;
import dev.graft.train.Overlay;
import dev.graft.train.Progress;
import dev.graft.train.Report;
import dev.graft.train.TopLosses;
import dev.graft.train.UsableImages;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import dev.graft.loaders.labels.CsvLabels;
import dev.graft.loaders.labels.LabeledSet;
import dev.graft.train.MultiLabelMetrics;
import dev.graft.train.MultiLabelReport;
import dev.graft.train.OptionException;
import dev.graft.train.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code graft evaluate}: metrics of a model file on a labelled image folder. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a trained model on DIR/CLASS/* images: table on the terminal; metrics.json, predictions.csv, "
                + "plots, the top-loss gallery and report.html on disk.")
final class EvaluateCommand implements Callable<Integer> {
    static final int MAX_TOP_LOSSES = 1000;

    @Option(names = "--model", required = true, description = "A model file written by 'graft train' (or torchvision weights).")
    Path model;
    @Option(names = "--data", description = "Labelled images: DIR/CLASS/*.png|jpg|jpeg|bmp, class folders named as in training; "
            + "a split layout DIR/{train,val,test}/CLASS/* is evaluated on its test/ split. A multi-label model is evaluated on a "
            + "label CSV instead: --labels FILE.csv --images ROOT (--targets defaults to the model's labels).")
    Path data;
    @Option(names = "--out", description = "Where metrics.json, predictions.csv, plots/, top-losses/ and report.html go "
            + "(default: evaluation/ next to the model file).")
    Path out;
    @Option(names = "--threshold", description = "Decide P(positive class) >= this instead of the model file's rule; in [0, 1].")
    Double threshold;
    @Option(names = "--top-losses", defaultValue = "16", paramLabel = "K",
            description = "Show the K images with the highest loss (thumbnail, true and predicted class, P, loss) in top-losses/, "
                    + "plots/top-losses.png and report.html; 0 turns it off, at most " + MAX_TOP_LOSSES + " (default ${DEFAULT-VALUE}).")
    int topLosses;
    @Option(names = "--bootstrap", defaultValue = "1000", paramLabel = "N", description = "Stratified bootstrap resamples for the 95%% "
            + "confidence intervals, 0 (off) to 100000 (default ${DEFAULT-VALUE}).")
    int bootstrap;
    @Option(names = "--bootstrap-seed", defaultValue = "0", description = "Seed of the bootstrap resamples (default ${DEFAULT-VALUE}).")
    long bootstrapSeed;
    @Option(names = "--batch-size", defaultValue = "32", description = "Images per forward pass, >= 1 (default ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--workers", description = "Image decoding threads, 1 to 256 (default: cores).")
    Integer workers;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, reference or cuda[:N].")
    String device;
    @Option(names = "--strict", description = "Fail on an unreadable image instead of skipping it.")
    boolean strict;
    @Mixin
    ImageOptions images;
    @Mixin
    CacheOptions cacheOptions;
    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;
    @Option(names = "--tta", description = "Test-time augmentation: average each image's probabilities over the image and its "
            + "left-right mirror (each view at the model file's temperature).")
    boolean tta;
    @Option(names = "--no-cam", description = "Top-loss thumbnails without the Grad-CAM heat map of the predicted class.")
    boolean noCam;
    @Mixin
    LabelOptions labelSets;

    @Override
    public Integer call() throws IOException {
        OptionChecks.batchSize("--batch-size", batchSize);
        OptionChecks.between("--top-losses", topLosses, 0, MAX_TOP_LOSSES, "the number of top-loss images");
        OptionChecks.between("--bootstrap", bootstrap, 0, Bootstrap.MAX_RESAMPLES, "the bootstrap resamples (0: no intervals)");
        int threads = workers != null ? OptionChecks.workers("--workers", workers)
                : Math.min(OptionChecks.MAX_WORKERS, Runtime.getRuntime().availableProcessors());
        // One pass over the images: memory cannot help, a disk cache filled by training (--cache disk) can.
        ImageCache imageCache = cacheOptions.create(ImageCache.Mode.OFF, w -> Progress.printLine("warning: " + PrintableText.escape(w)));
        labelSets.check(data, null, null, null);
        if (labelSets.given()) {
            return evaluateLabels(threads, imageCache);
        }
        if (data == null) {
            throw new OptionException("--data DIR is required (or, for a multi-label model, --labels FILE.csv --images ROOT)");
        }
        data = evaluationFolder(data);
        ModelFile mf = ModelFile.read(FileChecks.input("--model", model));
        if (mf.perLabel() != null) {
            throw new OptionException("--model " + model + " is multi-label (one sigmoid per label " + mf.classes() + "); evaluate it on "
                    + "a label CSV: --labels FILE.csv --images ROOT");
        }
        DecisionRule rule = threshold != null ? mf.decision().withThreshold(threshold, "--threshold") : mf.decision();
        ImageFolder folder = ImageFolder.scan(data);
        if (!folder.classes().equals(mf.classes())) {
            throw new DatasetException("the class folders of " + data + " " + folder.classes() + " differ from the model's classes "
                    + mf.classes() + "; name the folders as in training");
        }
        var sel = Backends.resolve(device);
        Metrics m;
        try (ResNet net = mf.build(sel.device());
             DataLoader loader = new DataLoader(folder.samples(), mf.classes().size(), mf.preprocessing().evaluation(),
                     new DataLoader.Options(batchSize, Sampling.Order.SEQUENTIAL, 0, threads, threads + 1, false, strict,
                             images.decoding()),
                     w -> Progress.printLine("warning: " + PrintableText.escape(w)), imageCache)) {
            Predictions p = Predictions.of(net, loader, net.config().inChannels(), mf.temperature(), tta,
                    Progress.start("evaluate", folder.samples().size(), Progress.wanted(noProgress)));
            UsableImages.check("evaluation", data.toString(), folder.samples(), folder.classes(), loader.skipped());
            m = Metrics.compute(p.probabilities(), p.labels(), rule, bootstrap, bootstrapSeed);
            Path dir = out != null ? out : model.toAbsolutePath().getParent().resolve("evaluation");
            List<Path> files = new ArrayList<>();
            int[] predicted = new int[p.labels().length];
            for (int i = 0; i < predicted.length; i++) {
                files.add(loader.samples().get(p.sampleIndices()[i]).path());
                predicted[i] = rule.decide(p.probabilities()[i]);
            }
            String dataSet = dataSetName(data);
            PredictionsCsv.write(dir.resolve("predictions.csv"), p, files, predicted, mf.classes());
            Report.writePlotsFor(dir.resolve("plots"), m, dataSet);
            TopLosses top = TopLosses.write(dir, p, files, predicted, mf.classes(), mf.preprocessing(), images.decoding(),
                    noCam ? Overlay.NONE : new CamOverlay(net, GradCam.Method.GRAD_CAM, mf.preprocessing(), images.decoding(), CamOverlay.ALPHA),
                    topLosses);
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("model", model.toString());
            json.put("data", data.toString());
            json.put("mean_loss", Double.isNaN(p.meanLoss()) ? null : p.meanLoss());
            json.put("temperature", mf.temperature());
            json.put("tta", tta ? "identity+hflip" : "none");
            json.put("metrics", m.toMap());
            json.put("top_losses", Report.topLossesJson(top, mf.classes()));
            Report.writeJson(dir.resolve("metrics.json"), json);
            Map<String, Object> config = new LinkedHashMap<>();
            config.put("model file", model);
            config.put("model", mf.describe());
            config.put("decision rule", rule.describe() + (threshold != null ? " (--threshold)" : " (the model file's)"));
            config.put("data", data);
            config.put("images evaluated", p.labels().length);
            config.put("images skipped", loader.skipped().size());
            config.put("device", sel.device());
            config.put("batch size", batchSize);
            config.put("test-time augmentation", tta ? "mean of the image and its mirror (--tta)" : "none");
            config.put("strict", strict);
            config.put("top losses", topLosses);
            config.put("versions", HtmlReport.version());
            HtmlReport html = new HtmlReport("Evaluation of " + model.getFileName() + " on " + dataSet);
            html.heading("Metrics").paragraph(String.format(java.util.Locale.ROOT, "%d images of %s; mean cross-entropy %s.",
                    m.count(), data, Table.num(p.meanLoss(), 4))).metrics(m);
            html.heading("Plots").image(dir.resolve("plots/roc.png"), "ROC curve").image(dir.resolve("plots/confusion.png"), "confusion matrix")
                    .image(dir.resolve("plots/reliability.png"), "reliability diagram");
            if (!top.entries().isEmpty()) {
                html.heading("Top " + top.entries().size() + " losses").gallery(top, mf.classes(), dir);
            }
            html.heading("Configuration").keyValues(config);
            html.write(dir.resolve("report.html"));
            System.out.println("model: " + model + " (" + mf.describe() + ") on " + sel.device());
            if (mf.temperature() != Temperature.NONE) {
                System.out.println("probabilities: softmax(logits / T), " + Temperature.describe(mf.temperature()) + " from the model file");
            }
            if (tta) {
                System.out.println("test-time augmentation: probabilities averaged over each image and its left-right mirror");
            }
            System.out.print(Report.table(m));
            System.out.println("wrote metrics.json, predictions.csv, plots/" + (top.entries().isEmpty() ? "" : ", top-losses/")
                    + " and report.html in " + dir);
        }
        return 0;
    }

    /**
     * A multi-label model on a label CSV: the per-label table at the model file's thresholds, and metrics.json
     * ({@code multi_label}, {@code labels}, {@code metrics} as training's validation entry) in --out.
     */
    private int evaluateLabels(int threads, ImageCache imageCache) {
        ModelFile mf = ModelFile.read(FileChecks.input("--model", model));
        if (mf.perLabel() == null) {
            throw new OptionException("--model " + model + " has one softmax over " + mf.classes() + ", not one sigmoid per label; "
                    + "evaluate it on an image folder with --data DIR");
        }
        if (labelSets.valLabels != null || labelSets.testLabels != null || threshold != null || tta) {
            throw new OptionException("--val-labels, --test-labels, --threshold and --tta do not apply to evaluating a multi-label model "
                    + "(it is evaluated on --labels at its own per-label thresholds); leave them out");
        }
        if (labelSets.targets == null) {
            labelSets.targets = String.join(",", mf.classes());
        }
        var sel = Backends.resolve(device);
        Trainer.Options opt = new Trainer.Options(Progress.wanted(noProgress), System.out,
                w -> Progress.printLine("warning: " + PrintableText.escape(w)), 0).withImageCache(imageCache);
        LabeledSet set = CsvLabels.read(labelSets.spec(), opt.warnings());
        MultiLabelMetrics m = MultiLabelReport.evaluate(mf, set, sel.device(), batchSize, threads, strict, images.decoding(), opt,
                "evaluate");
        Path dir = out != null ? out : model.toAbsolutePath().getParent().resolve("evaluation");
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model", model.toString());
        json.put("data", set.description());
        json.put("multi_label", true);
        json.put("labels", mf.classes());
        json.put("metrics", m.toMap());
        Report.writeJson(dir.resolve("metrics.json"), json);
        System.out.println("model: " + model + " (" + mf.describe() + ") on " + sel.device());
        System.out.println(set.images().size() + " images of " + PrintableText.escape(set.description()) + "; thresholds from the model file:");
        System.out.print(m.table());
        System.out.println("wrote metrics.json in " + dir);
        return 0;
    }

    /** {@code data} itself, or the test split of a train/val/test layout (said on the terminal); a layout without one is refused. */
    static Path evaluationFolder(Path data) {
        DataLayout layout = DataLayout.detect(data);
        if (layout == null) {
            return data;
        }
        if (layout.test() == null) {
            throw new DatasetException(data + " is a data-split layout without a test/ folder; pass the split to evaluate, e.g. --data "
                    + (layout.val() != null ? layout.val() : layout.train()));
        }
        System.out.println(PrintableText.escape("data: " + data + " is a data-split layout: evaluating on " + layout.test()));
        return layout.test();
    }

    /** A short name for plot titles: the folder's last two path elements ("chest_xray/test"). */
    static String dataSetName(Path data) {
        Path abs = data.toAbsolutePath().normalize();
        int n = abs.getNameCount();
        return n == 0 ? abs.toString() : abs.subpath(Math.max(0, n - 2), n).toString();
    }
}
