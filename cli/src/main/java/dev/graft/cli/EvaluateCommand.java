package dev.graft.cli;

import dev.graft.engine.backend.Backends;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageFolder;
import dev.graft.loaders.images.Sampling;
import dev.graft.models.DecisionRule;
import dev.graft.models.PrintableText;
import dev.graft.models.ResNet;
import dev.graft.models.Temperature;
import dev.graft.train.Bootstrap;
import dev.graft.train.Metrics;
import dev.graft.train.ModelFile;
import dev.graft.train.OptionChecks;
import dev.graft.train.Predictions;
import dev.graft.train.Progress;
import dev.graft.train.Report;
import dev.graft.train.UsableImages;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code graft evaluate}: metrics of a model file on a labelled image folder. */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a trained model on DIR/CLASS/* images: table on the terminal, metrics.json and plots on disk.")
final class EvaluateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "A model file written by 'graft train' (or torchvision weights).")
    Path model;
    @Option(names = "--data", required = true, description = "Labelled images: DIR/CLASS/*.png|jpg|jpeg|bmp, class folders named as in training.")
    Path data;
    @Option(names = "--out", description = "Where metrics.json and plots go (default: evaluation/ next to the model file).")
    Path out;
    @Option(names = "--threshold", description = "Decide P(positive class) >= this instead of the model file's rule; in [0, 1].")
    Double threshold;
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
    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;

    @Override
    public Integer call() throws IOException {
        OptionChecks.batchSize("--batch-size", batchSize);
        OptionChecks.between("--bootstrap", bootstrap, 0, Bootstrap.MAX_RESAMPLES, "the bootstrap resamples (0: no intervals)");
        int threads = workers != null ? OptionChecks.workers("--workers", workers)
                : Math.min(OptionChecks.MAX_WORKERS, Runtime.getRuntime().availableProcessors());
        ModelFile mf = ModelFile.read(FileChecks.input("--model", model));
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
                     w -> System.err.println("warning: " + PrintableText.escape(w)))) {
            Predictions p = Predictions.of(net, loader, net.config().inChannels(), mf.temperature(),
                    Progress.start("evaluate", folder.samples().size(), !noProgress && System.console() != null));
            UsableImages.check("evaluation", data.toString(), folder.samples(), folder.classes(), loader.skipped());
            m = Metrics.compute(p.probabilities(), p.labels(), rule, bootstrap, bootstrapSeed);
            Path dir = out != null ? out : model.toAbsolutePath().getParent().resolve("evaluation");
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("model", model.toString());
            json.put("data", data.toString());
            json.put("mean_loss", Double.isNaN(p.meanLoss()) ? null : p.meanLoss());
            json.put("temperature", mf.temperature());
            json.put("metrics", m.toMap());
            Report.writeJson(dir.resolve("metrics.json"), json);
            Report.writePlotsFor(dir.resolve("plots"), m);
            System.out.println("model: " + model + " (" + mf.describe() + ") on " + sel.device());
            if (mf.temperature() != Temperature.NONE) {
                System.out.println("probabilities: softmax(logits / T), " + Temperature.describe(mf.temperature()) + " from the model file");
            }
            System.out.print(Report.table(m));
            System.out.println("wrote " + dir.resolve("metrics.json") + " and " + dir.resolve("plots"));
        }
        return 0;
    }
}
