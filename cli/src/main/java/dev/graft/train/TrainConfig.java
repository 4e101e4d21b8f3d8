package dev.graft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.Device;
import dev.graft.engine.GraftException;
import dev.graft.engine.Precision;
import dev.graft.loaders.images.Augmentation;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageDecoder;
import dev.graft.models.BatchNormPolicy;
import dev.graft.models.DecisionRule;
import dev.graft.models.ModelException;
import dev.graft.models.ModelMetadata;
import dev.graft.models.ResNetConfig;

import java.util.List;

/**
 * Everything that shapes a training run; saved as JSON in checkpoints and model files so a run can be resumed
 * and a model explained. Defaults follow fastai's {@code fine_tune}: AdamW (betas 0.9/0.99, eps 1e-5, decoupled
 * weight decay 0.01, none on batch-norm and bias parameters), base learning rate 2e-3, phase 1 one-cycle with
 * pct_start 0.99 on the head, phase 2 at half the base rate with discriminative rates from base/2/lrMult to
 * base/2 over three groups (stem..layer2, layer3..layer4, head), one-cycle with pct_start 0.3 and div 5.
 * Unlike fastai, frozen batch norm holds its statistics (policy HOLD) by default. {@code maxImagePixels} null means
 * the default limit ({@link ImageDecoder.Options#defaults()}); configurations saved before it existed read as null and
 * false. {@code calibrate} ({@code --calibrate}): fit a temperature on the validation set after training
 * ({@link TemperatureScaling}); false in configurations saved before it existed. {@code patientRegex}
 * ({@code --patient-regex}): the held-out split keeps each patient on one side ({@link PatientSplit}); null: an
 * image-level split, as in configurations saved before it existed. {@code init}, {@code transferUpTo}, {@code initAbove}
 * ({@code --init}, {@code --transfer-up-to}, {@code --init-above}): how the network starts ({@link Initialization}); null in
 * configurations saved before they existed, which started from {@code weights} as they are, else at random.
 * {@code precision} ({@code --precision}): fp32 or bf16 mixed precision ({@link dev.graft.engine.Precision}); stored
 * as its name, fp32 for configurations saved before it existed. {@code auxWeight} ({@code --aux-weight}): the weight of
 * an auxiliary head's loss (InceptionV3's AuxLogits; 0 does not run it), saved so that a resumed run and the model file
 * keep it; configurations saved before it existed read as {@link #DEFAULT_AUX_WEIGHT}.
 */
public record TrainConfig(
        String data,
        String val,
        double valFraction,
        String arch,
        String weights,
        String out,
        int imageSize,
        int resizeSize,
        int batchSize,
        int headEpochs,
        int finetuneEpochs,
        double lr,
        double lrMult,
        String optimizer,
        double momentum,
        double weightDecay,
        boolean nesterov,
        String schedule,
        int warmupEpochs,
        String classWeights,
        double labelSmoothing,
        double clipGradNorm,
        String bnPolicy,
        String unfreezeFrom,
        String augment,
        String sampler,
        long seed,
        int workers,
        String device,
        String monitor,
        String threshold,
        String positiveClass,
        boolean strict,
        Long maxImagePixels,
        boolean lenient,
        boolean calibrate,
        String patientRegex,
        String init,
        String transferUpTo,
        String initAbove,
        String precision,
        Double auxWeight) {

    /** torchvision's reference recipe: {@code loss + 0.4 * aux_loss}. */
    public static final double DEFAULT_AUX_WEIGHT = 0.4;

    public static final List<String> OPTIMIZERS = List.of("adamw", "sgd");
    public static final List<String> SAMPLERS = List.of("shuffle", "weighted");
    public static final List<String> MONITORS = List.of("loss", "auc", "accuracy");
    public static final List<String> BN_POLICIES =
            java.util.Arrays.stream(BatchNormPolicy.values()).map(BatchNormPolicy::metadataValue).toList();

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Every rule of {@code graft train}'s settings, checked before any work starts; a checkpoint's saved settings are
     * checked again on {@code --resume}. Enumerated values are matched case-insensitively and stored in lower case.
     */
    public TrainConfig {
        require(data != null && !data.isBlank(), "--data DIR is required");
        require(valFraction > 0 && valFraction < 1, "--val-fraction " + valFraction + " is out of range: the share of --data held out "
                + "for validation must be a finite number strictly between 0 and 1");
        checkArchitecture(arch);
        String sizes = ModelMetadata.imageSizeProblem(imageSize, resizeSize);
        require(sizes == null, "--image-size " + imageSize + " / --resize-size " + resizeSize + ": " + sizes);
        OptionChecks.batchSize("--batch-size", batchSize);
        OptionChecks.between("--head-epochs", headEpochs, 0, OptionChecks.MAX_EPOCHS, "the number of phase 1 epochs");
        OptionChecks.between("--finetune-epochs", finetuneEpochs, 0, OptionChecks.MAX_EPOCHS, "the number of phase 2 epochs");
        require(headEpochs + finetuneEpochs >= 1, "--head-epochs and --finetune-epochs are both 0: nothing would train; give at least one epoch");
        OptionChecks.positive("--lr", lr, "the learning rate");
        OptionChecks.between("--lr-mult", lrMult, 1, Double.POSITIVE_INFINITY, "the spread of phase 2's learning rates");
        optimizer = OptionChecks.oneOf("--optimizer", optimizer, OPTIMIZERS);
        require(momentum >= 0 && momentum < 1, "--momentum " + momentum + " is out of range: SGD's momentum must be a finite number in [0, 1)");
        OptionChecks.between("--weight-decay", weightDecay, 0, Double.POSITIVE_INFINITY, "the weight decay");
        Schedule.check(schedule);
        OptionChecks.between("--warmup-epochs", warmupEpochs, 0, OptionChecks.MAX_EPOCHS, "the number of warm-up epochs");
        checkClassWeights(classWeights);
        OptionChecks.between("--label-smoothing", labelSmoothing, 0, 1, "the label smoothing");
        OptionChecks.between("--clip-grad-norm", clipGradNorm, 0, Double.POSITIVE_INFINITY, "the gradient norm to clip to (0: off)");
        bnPolicy = OptionChecks.oneOf("--bn-policy", bnPolicy, BN_POLICIES);
        require(unfreezeFrom == null || !unfreezeFrom.isBlank(), "--unfreeze-from is empty; name a block such as layer3, or leave it out");
        try {
            Augmentation.parse(augment);
        } catch (DatasetException e) {
            throw new OptionException("--augment: " + e.getMessage());
        }
        sampler = OptionChecks.oneOf("--sampler", sampler, SAMPLERS);
        OptionChecks.workers("--workers", workers);
        if (!device.trim().equalsIgnoreCase("auto")) {
            try {
                Device.parse(device); // the syntax; whether the device is usable is checked when it is opened
            } catch (GraftException e) {
                throw new OptionException("--device: " + e.getMessage());
            }
        }
        monitor = OptionChecks.oneOf("--monitor", monitor, MONITORS);
        checkThresholdRule(threshold);
        require(positiveClass == null || !positiveClass.isBlank(), "--positive-class is empty; name one of the class folders");
        require(maxImagePixels == null || maxImagePixels >= 1, "--max-image-pixels " + maxImagePixels
                + " is out of range: the largest image to decode, in pixels, must be at least 1");
        PatientSplit.compile(patientRegex);
        init = Initialization.check(init, weights != null, transferUpTo, initAbove);
        initAbove = Initialization.lower(initAbove);
        precision = checkPrecision(precision);
        auxWeight = auxWeight == null ? DEFAULT_AUX_WEIGHT : auxWeight;
        require(auxWeight >= 0 && auxWeight <= 10, "--aux-weight must be between 0 and 10, got " + auxWeight);
    }

    /** With every setting but the auxiliary loss weight, which is the default (before {@code --aux-weight} was saved). */
    public TrainConfig(String data, String val, double valFraction, String arch, String weights, String out, int imageSize,
                       int resizeSize, int batchSize, int headEpochs, int finetuneEpochs, double lr, double lrMult, String optimizer,
                       double momentum, double weightDecay, boolean nesterov, String schedule, int warmupEpochs, String classWeights,
                       double labelSmoothing, double clipGradNorm, String bnPolicy, String unfreezeFrom, String augment, String sampler,
                       long seed, int workers, String device, String monitor, String threshold, String positiveClass, boolean strict,
                       Long maxImagePixels, boolean lenient, boolean calibrate, String patientRegex, String init, String transferUpTo,
                       String initAbove, String precision) {
        this(data, val, valFraction, arch, weights, out, imageSize, resizeSize, batchSize, headEpochs, finetuneEpochs, lr, lrMult,
                optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing, clipGradNorm, bnPolicy,
                unfreezeFrom, augment, sampler, seed, workers, device, monitor, threshold, positiveClass, strict, maxImagePixels, lenient,
                calibrate, patientRegex, init, transferUpTo, initAbove, precision, null);
    }

    /** This configuration with the auxiliary head's loss weighted {@code auxWeight}; the other settings unchanged. */
    public TrainConfig withAuxWeight(double auxWeight) {
        return new TrainConfig(data, val, valFraction, arch, weights, out, imageSize, resizeSize, batchSize, headEpochs, finetuneEpochs,
                lr, lrMult, optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing,
                clipGradNorm, bnPolicy, unfreezeFrom, augment, sampler, seed, workers, device, monitor, threshold, positiveClass, strict,
                maxImagePixels, lenient, calibrate, patientRegex, init, transferUpTo, initAbove, precision, auxWeight);
    }

    /**
     * The --precision name (null, as in configurations saved before it existed: fp32). int8 is refused: it is a
     * quantized inference format, not a training arithmetic.
     */
    static String checkPrecision(String precision) {
        if (precision == null) {
            return Precision.FP32.cliName();
        }
        Precision p;
        try {
            p = Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new OptionException("--precision: " + e.getMessage());
        }
        if (p == Precision.INT8) {
            throw new OptionException("--precision int8 is for quantized inference, not training; train with fp32 or bf16");
        }
        return p.cliName();
    }

    /** The arithmetic the run trains in. */
    public Precision trainingPrecision() {
        return Precision.parse(precision);
    }

    /** With the network's starting point and every other setting as given, in fp32 (before {@code --precision} existed). */
    public TrainConfig(String data, String val, double valFraction, String arch, String weights, String out, int imageSize,
                       int resizeSize, int batchSize, int headEpochs, int finetuneEpochs, double lr, double lrMult, String optimizer,
                       double momentum, double weightDecay, boolean nesterov, String schedule, int warmupEpochs, String classWeights,
                       double labelSmoothing, double clipGradNorm, String bnPolicy, String unfreezeFrom, String augment, String sampler,
                       long seed, int workers, String device, String monitor, String threshold, String positiveClass, boolean strict,
                       Long maxImagePixels, boolean lenient, boolean calibrate, String patientRegex, String init, String transferUpTo,
                       String initAbove) {
        this(data, val, valFraction, arch, weights, out, imageSize, resizeSize, batchSize, headEpochs, finetuneEpochs, lr, lrMult,
                optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing, clipGradNorm, bnPolicy,
                unfreezeFrom, augment, sampler, seed, workers, device, monitor, threshold, positiveClass, strict, maxImagePixels, lenient,
                calibrate, patientRegex, init, transferUpTo, initAbove, null);
    }

    /** This configuration training in {@code precision} (a --precision name); the other settings unchanged. */
    public TrainConfig withPrecision(String precision) {
        return new TrainConfig(data, val, valFraction, arch, weights, out, imageSize, resizeSize, batchSize, headEpochs, finetuneEpochs,
                lr, lrMult, optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing,
                clipGradNorm, bnPolicy, unfreezeFrom, augment, sampler, seed, workers, device, monitor, threshold, positiveClass, strict,
                maxImagePixels, lenient, calibrate, patientRegex, init, transferUpTo, initAbove, precision, auxWeight);
    }

    /** With the network's starting point as before {@code --init} existed (the weights as they are, else random). */
    public TrainConfig(String data, String val, double valFraction, String arch, String weights, String out, int imageSize,
                       int resizeSize, int batchSize, int headEpochs, int finetuneEpochs, double lr, double lrMult, String optimizer,
                       double momentum, double weightDecay, boolean nesterov, String schedule, int warmupEpochs, String classWeights,
                       double labelSmoothing, double clipGradNorm, String bnPolicy, String unfreezeFrom, String augment, String sampler,
                       long seed, int workers, String device, String monitor, String threshold, String positiveClass, boolean strict,
                       Long maxImagePixels, boolean lenient, boolean calibrate, String patientRegex) {
        this(data, val, valFraction, arch, weights, out, imageSize, resizeSize, batchSize, headEpochs, finetuneEpochs, lr, lrMult,
                optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing, clipGradNorm, bnPolicy,
                unfreezeFrom, augment, sampler, seed, workers, device, monitor, threshold, positiveClass, strict, maxImagePixels, lenient,
                calibrate, patientRegex, null, null, null);
    }

    /** This configuration starting as {@code init} (see {@link Initialization}); the other settings unchanged. */
    public TrainConfig withInit(String init, String transferUpTo, String initAbove) {
        return new TrainConfig(data, val, valFraction, arch, weights, out, imageSize, resizeSize, batchSize, headEpochs, finetuneEpochs,
                lr, lrMult, optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing,
                clipGradNorm, bnPolicy, unfreezeFrom, augment, sampler, seed, workers, device, monitor, threshold, positiveClass, strict,
                maxImagePixels, lenient, calibrate, patientRegex, init, transferUpTo, initAbove, precision, auxWeight);
    }

    /** Without patient-level splits (the settings before {@code --patient-regex} existed). */
    public TrainConfig(String data, String val, double valFraction, String arch, String weights, String out, int imageSize,
                       int resizeSize, int batchSize, int headEpochs, int finetuneEpochs, double lr, double lrMult, String optimizer,
                       double momentum, double weightDecay, boolean nesterov, String schedule, int warmupEpochs, String classWeights,
                       double labelSmoothing, double clipGradNorm, String bnPolicy, String unfreezeFrom, String augment, String sampler,
                       long seed, int workers, String device, String monitor, String threshold, String positiveClass, boolean strict,
                       Long maxImagePixels, boolean lenient, boolean calibrate) {
        this(data, val, valFraction, arch, weights, out, imageSize, resizeSize, batchSize, headEpochs, finetuneEpochs, lr, lrMult,
                optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing, clipGradNorm, bnPolicy,
                unfreezeFrom, augment, sampler, seed, workers, device, monitor, threshold, positiveClass, strict, maxImagePixels, lenient,
                calibrate, null);
    }

    /** Without temperature calibration (the settings before {@code --calibrate} existed). */
    public TrainConfig(String data, String val, double valFraction, String arch, String weights, String out, int imageSize,
                       int resizeSize, int batchSize, int headEpochs, int finetuneEpochs, double lr, double lrMult, String optimizer,
                       double momentum, double weightDecay, boolean nesterov, String schedule, int warmupEpochs, String classWeights,
                       double labelSmoothing, double clipGradNorm, String bnPolicy, String unfreezeFrom, String augment, String sampler,
                       long seed, int workers, String device, String monitor, String threshold, String positiveClass, boolean strict,
                       Long maxImagePixels, boolean lenient) {
        this(data, val, valFraction, arch, weights, out, imageSize, resizeSize, batchSize, headEpochs, finetuneEpochs, lr, lrMult,
                optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing, clipGradNorm, bnPolicy,
                unfreezeFrom, augment, sampler, seed, workers, device, monitor, threshold, positiveClass, strict, maxImagePixels, lenient,
                false, null);
    }

    /** How the run reads its images: the pixel limit and lenient reading. */
    public ImageDecoder.Options imageDecoding() {
        return ImageDecoder.Options.defaults().withMaxPixels(maxImagePixels).withLenient(lenient);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new OptionException(message);
        }
    }

    /** A torchvision name or a config line as {@link ResNetConfig#describe()} writes it; null: inferred or resnet18. */
    private static void checkArchitecture(String arch) {
        if (arch == null) {
            return;
        }
        try {
            if (arch.contains("=")) {
                ResNetConfig.parse(arch);
            } else {
                ResNetConfig.named(arch, 2);
            }
        } catch (ModelException e) {
            throw new OptionException("--arch: " + e.getMessage());
        }
    }

    /** none, auto, or a comma list of finite numbers >= 0 (their count is checked against the classes later). */
    private static void checkClassWeights(String spec) {
        if (spec == null || spec.equals("none") || spec.equals("auto")) {
            return;
        }
        for (String part : spec.split(",", -1)) {
            double w;
            try {
                w = Double.parseDouble(part.trim());
            } catch (NumberFormatException e) {
                throw new OptionException("--class-weights '" + spec + "': '" + part.trim() + "' is not a number; give none, auto, "
                        + "or one finite number >= 0 per class, comma-separated");
            }
            OptionChecks.between("--class-weights", w, 0, Double.POSITIVE_INFINITY, "a class weight");
        }
    }

    /** "youden", "sensitivity:S" with S in (0, 1], or a fixed threshold in [0, 1]. */
    private static void checkThresholdRule(String rule) {
        if (rule == null || rule.equals("youden")) {
            return;
        }
        try {
            if (rule.startsWith("sensitivity:")) {
                double s = Double.parseDouble(rule.substring("sensitivity:".length()));
                require(s > 0 && s <= 1, "--target-sensitivity " + s + " is out of range: the sensitivity to reach must be in (0, 1]");
            } else {
                DecisionRule.checkThreshold(Double.parseDouble(rule), "--threshold", "leave it out to choose one on validation");
            }
        } catch (NumberFormatException e) {
            throw new OptionException("the threshold rule '" + rule + "' is not youden, sensitivity:S or a number");
        }
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static TrainConfig fromJson(String json) {
        try {
            return JSON.readValue(json, TrainConfig.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            if (e.getCause() instanceof OptionException broken) {
                throw broken; // readable, but a setting breaks a rule
            }
            throw new TrainingException("the saved training configuration is unreadable: " + e.getOriginalMessage());
        }
    }
}
