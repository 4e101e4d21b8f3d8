package dev.graft.cli;

import dev.graft.loaders.images.DataLayout;
import dev.graft.models.PrintableText;
import dev.graft.train.LrFinder;
import dev.graft.train.Progress;
import dev.graft.train.LrSweep;
import dev.graft.train.OptionChecks;
import dev.graft.train.TrainConfig;
import dev.graft.train.TrainingException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code graft lr-find}: the learning-rate range test. Its data, model and optimizer options mean what they mean in
 * {@code graft train} and are checked by the same {@link TrainConfig} rules; nothing but the curve is written.
 */
@Command(name = "lr-find", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Find a learning rate for 'graft train --lr' with a range test (Smith 2017, fastai's lr_find).",
            "It trains on --data's training images for --iters mini-batches with the rate rising geometrically from --start-lr",
            "to --end-lr, stops early when the smoothed loss passes 4x its best, and suggests a rate. Writes lr-find.png (loss against rate, log axis, suggestions marked) and",
            "lr-find.json (the curve) in --out. The weights file is only read; no model or checkpoint is written.",
            "The suggestion is fastai's 'valley' (about halfway down the longest descent); 'steepest' and 'minimum/10' are shown too.",
            "--phase head sweeps the new head on the frozen backbone (train's phase 1, whose rate is --lr); --phase finetune",
            "sweeps the unfrozen network with one rate for all layers (train's phase 2 gives the head --lr/2)."})
final class LrFindCommand implements Callable<Integer> {
    @Option(names = "--data", required = true, description = "Training images: DIR/CLASS/*.png|jpg|jpeg|bmp (the split --val-fraction leaves for training is used), "
            + "or a split layout DIR/{train,val,test}/CLASS/* (its train/ split is used).")
    Path data;
    @Option(names = "--val", description = "Validation images in the same layout; then all of --data is used.")
    Path val;
    @Option(names = "--val-fraction", defaultValue = "0.2", description = "Share of --data held out when --val is absent, as in train (default ${DEFAULT-VALUE}).")
    double valFraction;
    @Option(names = "--arch", description = "As in train (default: inferred from --weights, else resnet18).")
    String arch;
    @Option(names = "--weights", description = "Pretrained weights or a model file from 'graft train' (only read). Without it: random init.")
    Path weights;
    @Option(names = "--out", description = "Folder for lr-find.png and lr-find.json (default runs/<data folder name>-lr-find).")
    Path out;
    @Option(names = "--phase", description = "head (frozen backbone, new head) or finetune (unfrozen, or from --unfreeze-from) "
            + "(default: head with --weights; without them the whole network trains).")
    String phase;
    @Option(names = "--start-lr", defaultValue = "1e-7", description = "First learning rate, > 0 (default ${DEFAULT-VALUE}).")
    double startLr;
    @Option(names = "--end-lr", defaultValue = "10", description = "Last learning rate, > --start-lr (default ${DEFAULT-VALUE}).")
    double endLr;
    @Option(names = "--iters", defaultValue = "100", description = "Mini-batches to sweep over, 2 to 100000 (default ${DEFAULT-VALUE}).")
    int iters;
    @Option(names = "--image-size", defaultValue = "224", description = "Crop size fed to the network (default ${DEFAULT-VALUE}).")
    int imageSize;
    @Option(names = "--resize-size", description = "Shorter side before the centre crop (default image size * 256/224).")
    Integer resizeSize;
    @Option(names = "--batch-size", defaultValue = "32", description = "Images per step, >= 1 (default ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw or sgd, as in train (default ${DEFAULT-VALUE}).")
    String optimizer;
    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum, in [0, 1) (default ${DEFAULT-VALUE}).")
    double momentum;
    @Option(names = "--nesterov", description = "Nesterov momentum for SGD.")
    boolean nesterov;
    @Option(names = "--weight-decay", defaultValue = "0.01", description = "Weight decay, >= 0, as in train (default ${DEFAULT-VALUE}).")
    double weightDecay;
    @Option(names = "--class-weights", defaultValue = "none", description = "none, auto or one number >= 0 per class, as in train.")
    String classWeights;
    @Option(names = "--label-smoothing", defaultValue = "0", description = "Cross-entropy label smoothing, in [0, 1] (default ${DEFAULT-VALUE}).")
    double labelSmoothing;
    @Option(names = "--clip-grad-norm", defaultValue = "0", description = "Clip the gradients' global 2-norm to this, >= 0 (0: off).")
    double clipGradNorm;
    @Option(names = "--bn-policy", defaultValue = "hold", description = "Frozen batch norm: hold, track or affine, as in train (default ${DEFAULT-VALUE}).")
    String bnPolicy;
    @Option(names = "--unfreeze-from", description = "With --phase finetune: unfreeze from this block on (e.g. layer3); default: everything.")
    String unfreezeFrom;
    @Option(names = "--augment", defaultValue = "default", description = "As in train: default (when absent), noflip, none, or crop=S,flip=P,rotate=DEG.")
    String augment;
    @Option(names = "--sampler", defaultValue = "shuffle", description = "shuffle or weighted (default ${DEFAULT-VALUE}).")
    String sampler;
    @Option(names = "--seed", defaultValue = "0", description = "Seed for the split, head init, order and augmentation (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--workers", description = "Image decoding threads, 1 to 256 (default: cores).")
    Integer workers;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, reference or cuda[:N] (default ${DEFAULT-VALUE}).")
    String device;
    @Option(names = "--precision", defaultValue = "fp32", description = "fp32 or bf16 (mixed precision, as graft train "
            + "--precision; sweep in the precision you will train in) (default ${DEFAULT-VALUE}).")
    String precision;
    @Option(names = "--strict", description = "Fail on an unreadable image instead of skipping it with a warning.")
    boolean strict;
    @Mixin
    ImageOptions images;
    @Option(names = "--no-progress", description = "No progress bar.")
    boolean noProgress;

    @Override
    public Integer call() {
        LrFinder.Settings settings = new LrFinder.Settings(startLr, endLr, iters, phase);
        Path dir = out != null ? out : Path.of("runs", data.toAbsolutePath().normalize().getFileName() + "-lr-find");
        int resize = resizeSize != null ? resizeSize : (int) Math.round(imageSize * 256.0 / 224.0);
        int threads = workers != null ? workers : Math.min(OptionChecks.MAX_WORKERS, Runtime.getRuntime().availableProcessors());
        // The training configuration's rules check every shared option; epochs, schedule and decision do not apply
        // (placeholders), and --lr is the sweep's first rate (the sweep sets every rate itself).
        Path trainDir = data;
        Path valDir = val;
        DataLayout layout = DataLayout.detect(data);
        if (layout != null) {
            trainDir = layout.train();
            valDir = val != null ? val : layout.val();
            System.out.println(PrintableText.escape("data: " + data + " is a data-split layout: the sweep trains on " + trainDir
                    + (valDir != null ? " (all of it)" : " less its --val-fraction share")));
        }
        TrainConfig cfg = new TrainConfig(trainDir.toString(), valDir == null ? null : valDir.toString(), valFraction, arch,
                weights == null ? null : weights.toString(), dir.toString(), imageSize, resize, batchSize, 1, 1,
                startLr, 1, optimizer, momentum, weightDecay, nesterov, "constant", 0, classWeights, labelSmoothing,
                clipGradNorm, bnPolicy, unfreezeFrom, augment, sampler, seed, threads, device, "loss", null, null, strict,
                images.maxImagePixels, images.lenient, false).withPrecision(precision);
        if (weights != null) {
            FileChecks.input("--weights", weights);
        }
        LrFinder.Output opt = new LrFinder.Output(System.out, w -> Progress.printLine("warning: " + PrintableText.escape(w)),
                Progress.wanted(noProgress));
        LrFinder.Result r = LrFinder.run(cfg, settings, dir, opt);
        LrFinder.Curve c = r.curve();
        System.out.printf(Locale.ROOT, "ran %d of %d mini-batches (%s)%n", c.lrs().length, c.planned(), c.stopped());
        if (r.suggestion() == null) {
            throw new TrainingException("the curve has " + c.lrs().length + " point(s), too few to suggest a rate (" + c.stopped()
                    + "); lower --start-lr or raise --iters. The curve is in " + r.json());
        }
        for (LrSweep.Suggestion g : r.suggestions()) {
            System.out.printf(Locale.ROOT, "%-11s %.2e%s%n", g.method(), g.lr(), g == r.suggestion() ? "  <- suggestion (fastai's default)" : "");
        }
        System.out.printf(Locale.ROOT, "suggested learning rate: %.2e (%s)%s%n", r.suggestion().lr(), r.suggestion().method(),
                r.phase().equals("finetune") ? "; graft train's phase 2 gives the head --lr/2, so --lr " + LrSweep.format(2 * r.suggestion().lr())
                        + " puts it there" : "; use it as graft train --lr");
        System.out.println("wrote " + r.plot() + " and " + r.json());
        return 0;
    }
}
