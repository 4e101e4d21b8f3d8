package dev.graft.cli;

import dev.graft.models.DecisionRule;
import dev.graft.train.TrainConfig;
import dev.graft.train.Trainer;
import dev.graft.train.TrainingException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code graft train}: the two-phase transfer-learning recipe on an image folder. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Train a classifier on DIR/CLASS/*.png|jpg|jpeg|bmp: phase 1 freezes the pretrained backbone and trains a new head,",
            "phase 2 unfreezes and fine-tunes with lower, discriminative learning rates (fastai's fine_tune recipe).",
            "Writes best.safetensors and last.safetensors (usable alone by 'graft predict'), checkpoint.safetensors (for --resume),",
            "metrics.json, history.json and plots/ in the run folder."})
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--data", description = "Training images: DIR/CLASS/*.png|jpg|jpeg|bmp.")
    Path data;
    @Option(names = "--val", description = "Validation images in the same layout (default: a seeded stratified split of --data).")
    Path val;
    @Option(names = "--val-fraction", defaultValue = "0.2", description = "Share of --data held out when --val is absent (default ${DEFAULT-VALUE}).")
    double valFraction;
    @Option(names = "--arch", description = "resnet18/34/50/101/152, resnext50_32x4d, resnext101_32x8d, wide_resnet50_2, wide_resnet101_2 "
            + "(default: inferred from --weights, else resnet18).")
    String arch;
    @Option(names = "--weights", description = "Pretrained weights (.pth or .safetensors, torchvision names). Without it: random init, no transfer.")
    Path weights;
    @Option(names = "--out", description = "Run folder (default runs/<data folder name>).")
    Path out;
    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "Continue the run in RUN_DIR from its last checkpoint.")
    Path resume;
    @Option(names = "--image-size", defaultValue = "224", description = "Crop size fed to the network (default ${DEFAULT-VALUE}).")
    int imageSize;
    @Option(names = "--resize-size", description = "Shorter side before the centre crop (default image size * 256/224).")
    Integer resizeSize;
    @Option(names = "--batch-size", defaultValue = "32", description = "Default ${DEFAULT-VALUE}.")
    int batchSize;
    @Option(names = "--head-epochs", defaultValue = "1", description = "Phase 1 epochs, backbone frozen (default ${DEFAULT-VALUE}, as fastai's freeze_epochs).")
    int headEpochs;
    @Option(names = "--finetune-epochs", defaultValue = "3", description = "Phase 2 epochs, unfrozen (default ${DEFAULT-VALUE}).")
    int finetuneEpochs;
    @Option(names = "--lr", defaultValue = "2e-3", description = "Base learning rate (default ${DEFAULT-VALUE}, fastai's base_lr).")
    double lr;
    @Option(names = "--lr-mult", defaultValue = "100", description = "Phase 2 spread: earliest layers get lr/2/lr-mult (default ${DEFAULT-VALUE}).")
    double lrMult;
    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw (betas 0.9/0.99, eps 1e-5) or sgd (default ${DEFAULT-VALUE}).")
    String optimizer;
    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum (default ${DEFAULT-VALUE}).")
    double momentum;
    @Option(names = "--nesterov", description = "Nesterov momentum for SGD.")
    boolean nesterov;
    @Option(names = "--weight-decay", defaultValue = "0.01", description = "Decoupled for AdamW, L2 for SGD; never on batch-norm and bias parameters (default ${DEFAULT-VALUE}).")
    double weightDecay;
    @Option(names = "--schedule", defaultValue = "onecycle", description = "onecycle, cosine, step[:EPOCHS[:GAMMA]] or constant (default ${DEFAULT-VALUE}).")
    String schedule;
    @Option(names = "--warmup-epochs", defaultValue = "0", description = "Linear warm-up for cosine, step and constant schedules.")
    int warmupEpochs;
    @Option(names = "--class-weights", defaultValue = "none", description = "none, auto (inverse class frequency) or a comma list, one per class.")
    String classWeights;
    @Option(names = "--label-smoothing", defaultValue = "0", description = "Cross-entropy label smoothing (default ${DEFAULT-VALUE}).")
    double labelSmoothing;
    @Option(names = "--clip-grad-norm", defaultValue = "0", description = "Clip the gradients' global 2-norm to this (0: off).")
    double clipGradNorm;
    @Option(names = "--bn-policy", defaultValue = "hold", description = "Frozen batch norm: hold (keep running stats), track (PyTorch's default) "
            + "or affine (hold stats, train gamma/beta) (default ${DEFAULT-VALUE}).")
    String bnPolicy;
    @Option(names = "--unfreeze-from", description = "Phase 2 unfreezes from this block on (e.g. layer3); default: everything.")
    String unfreezeFrom;
    @Option(names = "--augment", defaultValue = "default", description = "none, default (crop=0.75,flip=0.5,rotate=10) or crop=S,flip=P,rotate=DEG. "
            + "With none and --bn-policy hold, phase 1 caches backbone features.")
    String augment;
    @Option(names = "--sampler", defaultValue = "shuffle", description = "shuffle or weighted (balances classes) (default ${DEFAULT-VALUE}).")
    String sampler;
    @Option(names = "--seed", defaultValue = "0", description = "Seed for the split, head init, order and augmentation (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--workers", description = "Image decoding threads (default: cores).")
    Integer workers;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, reference or cuda[:N] (default ${DEFAULT-VALUE}).")
    String device;
    @Option(names = "--monitor", defaultValue = "loss", description = "What picks best.safetensors: loss, auc or accuracy on validation (default ${DEFAULT-VALUE}).")
    String monitor;
    @Option(names = "--target-sensitivity", description = "Choose the threshold reaching this sensitivity on validation (e.g. 0.95) instead of Youden's J.")
    Double targetSensitivity;
    @Option(names = "--threshold", description = "Fixed decision threshold on the positive class probability instead of choosing one.")
    Double threshold;
    @Option(names = "--positive-class", description = "Positive class name for two-class metrics (default: the second class in sorted order).")
    String positiveClass;
    @Option(names = "--strict", description = "Fail on an unreadable image instead of skipping it with a warning.")
    boolean strict;
    @Mixin
    ImageOptions images;
    @Option(names = "--no-progress", description = "No progress bars.")
    boolean noProgress;
    @Option(names = "--no-feature-cache", description = "Run phase 1 through the backbone every epoch even when its features could be cached.")
    boolean noFeatureCache;
    @Option(names = "--stop-after-epochs", hidden = true, defaultValue = "0", description = "Testing: stop after N epochs of this process, as a kill would.")
    int stopAfterEpochs;

    @Override
    public Integer call() {
        Trainer.Options opt = new Trainer.Options(!noProgress && System.console() != null, System.out,
                w -> System.err.println("warning: " + w), stopAfterEpochs, !noFeatureCache);
        if (resume != null) {
            Trainer.resume(resume, device.equals("auto") ? null : device, workers, opt);
            return 0;
        }
        if (data == null) {
            throw new TrainingException("--data DIR is required (or --resume RUN_DIR)");
        }
        if (targetSensitivity != null && threshold != null) {
            throw new TrainingException("--target-sensitivity and --threshold exclude each other");
        }
        if (threshold != null) {
            DecisionRule.checkThreshold(threshold, "--threshold", "leave it out to choose one on validation");
        }
        String rule = threshold != null ? Double.toString(threshold)
                : targetSensitivity != null ? "sensitivity:" + targetSensitivity : "youden";
        if (targetSensitivity != null && !(targetSensitivity > 0 && targetSensitivity <= 1)) {
            throw new TrainingException("--target-sensitivity must be in (0, 1]");
        }
        Path runDir = out != null ? out : Path.of("runs", data.toAbsolutePath().normalize().getFileName().toString());
        int resize = resizeSize != null ? resizeSize : (int) Math.round(imageSize * 256.0 / 224.0);
        int threads = workers != null ? workers : Runtime.getRuntime().availableProcessors();
        TrainConfig cfg = new TrainConfig(data.toString(), val == null ? null : val.toString(), valFraction, arch,
                weights == null ? null : weights.toString(), runDir.toString(), imageSize, resize, batchSize, headEpochs, finetuneEpochs,
                lr, lrMult, optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing,
                clipGradNorm, bnPolicy, unfreezeFrom, augment, sampler, seed, threads, device, monitor, rule, positiveClass, strict,
                images.maxImagePixels, images.lenient);
        Trainer.train(cfg, opt);
        return 0;
    }
}
