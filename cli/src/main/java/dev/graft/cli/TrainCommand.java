package dev.graft.cli;

import dev.graft.loaders.images.DataLayout;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageCache;
import dev.graft.loaders.images.ImageFolder;
import dev.graft.models.DecisionRule;
import dev.graft.models.PrintableText;
import dev.graft.train.PatientSplit;
import dev.graft.train.Progress;
import dev.graft.train.TestEvaluation;
import dev.graft.train.MultiLabelRun;
import dev.graft.train.Report;
import dev.graft.train.TrainConfig;
import dev.graft.train.Trainer;
import dev.graft.train.TrainingException;
import dev.graft.train.OptionChecks;
import dev.graft.train.OptionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code graft train}: the two-phase transfer-learning recipe on an image folder. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Train a classifier on an image folder (DIR/CLASS/*.png|jpg|jpeg|bmp) by fastai's two-phase fine_tune recipe.",
            "Phase 1 freezes the pretrained backbone and trains a new head; phase 2 unfreezes and fine-tunes with lower,",
            "discriminative learning rates.",
            "Writes best.safetensors and last.safetensors (usable alone by 'graft predict'), checkpoint.safetensors (for --resume),",
            "metrics.json, history.json and plots/ in the run folder. Every option is checked before work starts.",
            "--resume RUN_DIR continues a run with the settings saved in its checkpoint: only --device, --workers, --strict,",
            "--no-progress, --no-feature-cache and the --cache options may be given with it (they change how it runs, not what it computes; --strict",
            "only turns a skipped unreadable image into an error), --head-epochs/--finetune-epochs N (N MORE epochs: a new",
            "schedule segment after the run's plan) and --patience; any other option is refused by name.",
            "Ctrl-C stops at the next step, keeps the last finished epoch's checkpoint and history, and exits 130."})
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--data", description = "Training images: DIR/CLASS/*.png|jpg|jpeg|bmp, or a split layout DIR/{train,val,test}/CLASS/* "
            + "(val/ may be valid/ or validation/): train on train/, select on val/, test on test/ once at the end.")
    Path data;
    @Option(names = "--val", description = "Validation images in the same layout (default: --data's val/ split, else a seeded stratified split of --data).")
    Path val;
    @Option(names = "--test", description = "Test images in the same layout, evaluated once with the best model after training "
            + "(default: --data's test/ split, if any).")
    Path test;
    @Option(names = "--val-fraction", defaultValue = "0.2", description = "Share of --data held out when --val is absent, strictly between 0 and 1 (default ${DEFAULT-VALUE}).")
    double valFraction;
    @Option(names = "--patient-regex", paramLabel = "REGEX", description = "Split by patient: a Java regex found in each image's "
            + "file name whose group 'patient' (?<patient>...), else its first group, is the patient id; e.g. ^(person\\d+)_ reads "
            + "person1 from person1_virus_6.jpeg. The --val-fraction split then puts whole patients on one side (each patient by "
            + "its majority class); a separate val/ or test/ folder sharing patients with training gets a warning and a "
            + "\"patient_leakage\" entry in metrics.json. A file name it does not match is an error.")
    String patientRegex;
    @Option(names = "--arch", description = "resnet18/34/50/101/152, resnext50_32x4d, resnext101_32x8d, wide_resnet50_2, wide_resnet101_2, "
            + "cbr_tiny, cbr_small, cbr_large_t, cbr_large_w, inception_v3, vit_b_16, vit_b_32, vit_l_16, deit_s (or deit_small_patch16_224) "
            + "(default: inferred from --weights, else resnet18).")
    String arch;
    @Option(names = "--weights", description = "Pretrained weights (.pth or .safetensors, torchvision names). Without it: random init, no transfer.")
    Path weights;
    @Option(names = "--init", paramLabel = "KIND", description = "How the network starts: pretrained (the --weights as they are: "
            + "freeze, train the head, fine-tune; the default with --weights), random (torchvision's init; with --weights only their "
            + "architecture and normalisation are used), stats (Matsoukas et al.'s ST: each conv/linear tensor redrawn i.i.d. from "
            + "N(mean, std) of the pretrained one, batch norms reset) or mean-var (Transfusion's: every parameter tensor redrawn from "
            + "N(mean, var) of the pretrained one, batch-norm weights included; running statistics reset). All but pretrained train "
            + "every layer in one phase. Seeded by --seed. See docs/study.md.")
    String init;
    @Option(names = "--transfer-up-to", paramLabel = "UNIT", description = "Keep the pretrained weights up to and including this "
            + "unit (the names --unfreeze-from takes: conv1, layer1..layer4 for ResNets; features.N for CBR) and start the rest "
            + "as --init-above says (Transfusion's weight transfusion; Matsoukas's WT-ST-n/m). Needs --weights; trains in one phase.")
    String transferUpTo;
    @Option(names = "--init-above", paramLabel = "KIND", description = "random (default) or stats: how the layers above --transfer-up-to start.")
    String initAbove;
    @Option(names = "--out", description = "Run folder (default runs/<data set>-<yyyyMMdd-HHmmss>, named after the --data folder).")
    Path out;
    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "Continue the run in RUN_DIR from its last checkpoint, with its saved settings (see above).")
    Path resume;
    @Option(names = "--image-size", description = "Crop size fed to the network, 8 to 4096 (default 224; 299 with --arch inception_v3, "
            + "as torchvision's InceptionV3 weights).")
    Integer imageSizeOption;
    int imageSize;
    @Option(names = "--aux-weight", defaultValue = "0.4", description = "InceptionV3: weight of the auxiliary classifier's loss in "
            + "training, 0 to 10 (default ${DEFAULT-VALUE}, torchvision's reference recipe; 0 does not run it). Never used at inference.")
    double auxWeight;
    @Option(names = "--resize-size", description = "Shorter side before the centre crop, image size to 4096 (default image size * 256/224).")
    Integer resizeSize;
    @Option(names = "--batch-size", defaultValue = "32", description = "Images per step, >= 1 (default ${DEFAULT-VALUE}).")
    int batchSize;
    @Option(names = "--head-epochs", defaultValue = "1", description = "Phase 1 epochs, backbone frozen, 0 to 10000 (default ${DEFAULT-VALUE}, as fastai's freeze_epochs).")
    int headEpochs;
    @Option(names = "--finetune-epochs", defaultValue = "3", description = "Phase 2 epochs, unfrozen, 0 to 10000, not both 0 (default ${DEFAULT-VALUE}).")
    int finetuneEpochs;
    @Option(names = "--lr", defaultValue = "2e-3", description = "Base learning rate, > 0 (default ${DEFAULT-VALUE}, fastai's base_lr).")
    double lr;
    @Option(names = "--lr-mult", defaultValue = "100", description = "Phase 2 spread, >= 1: earliest layers get lr/2/lr-mult (default ${DEFAULT-VALUE}).")
    double lrMult;
    @Option(names = "--optimizer", defaultValue = "adamw", description = "adamw (betas 0.9/0.99, eps 1e-5) or sgd (default ${DEFAULT-VALUE}).")
    String optimizer;
    @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum, in [0, 1) (default ${DEFAULT-VALUE}).")
    double momentum;
    @Option(names = "--nesterov", description = "Nesterov momentum for SGD.")
    boolean nesterov;
    @Option(names = "--weight-decay", defaultValue = "0.01", description = "Weight decay, >= 0: decoupled for AdamW, L2 for SGD; never on batch-norm and bias parameters (default ${DEFAULT-VALUE}).")
    double weightDecay;
    @Option(names = "--schedule", defaultValue = "onecycle", description = "onecycle, cosine, step[:EPOCHS[:GAMMA]] (EPOCHS >= 1, GAMMA in (0, 1]) or constant (default ${DEFAULT-VALUE}).")
    String schedule;
    @Option(names = "--warmup-epochs", defaultValue = "0", description = "Linear warm-up epochs for cosine, step and constant schedules, 0 to 10000.")
    int warmupEpochs;
    @Option(names = "--class-weights", defaultValue = "none", description = "none, auto (inverse class frequency) or a comma list of numbers >= 0, one per class.")
    String classWeights;
    @Option(names = "--label-smoothing", defaultValue = "0", description = "Cross-entropy label smoothing, in [0, 1] (default ${DEFAULT-VALUE}).")
    double labelSmoothing;
    @Option(names = "--clip-grad-norm", defaultValue = "0", description = "Clip the gradients' global 2-norm to this, >= 0 (0: off).")
    double clipGradNorm;
    @Option(names = "--bn-policy", defaultValue = "hold", description = "Frozen batch norm: hold (keep running stats), track (PyTorch's default) "
            + "or affine (hold stats, train gamma/beta) (default ${DEFAULT-VALUE}).")
    String bnPolicy;
    @Option(names = "--unfreeze-from", description = "Phase 2 unfreezes from this block on (e.g. layer3; for a ViT a unit: "
            + "conv_proj / patch_embed.proj, a block encoder.layers.encoder_layer_N / blocks.N, or encoder.ln / norm); default: everything.")
    String unfreezeFrom;
    @Option(names = "--augment", defaultValue = "default", description = "Training augmentation. default (used when the option is "
            + "absent): random crops of 75-100%% of the area resized to --image-size, left-right flips half the time, rotations up to "
            + "+-10 degrees; noflip: the same without flips (chest X-rays: a flip puts the heart on the right); none; or any of "
            + "crop=S,flip=P,rotate=DEG. "
            + "With none and --bn-policy hold, phase 1 caches backbone features.")
    String augment;
    @Option(names = "--sampler", defaultValue = "shuffle", description = "shuffle or weighted (balances classes) (default ${DEFAULT-VALUE}).")
    String sampler;
    @Option(names = "--seed", defaultValue = "0", description = "Seed for the split, head init, order and augmentation (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--workers", description = "Image decoding threads, 1 to 256 (default: cores).")
    Integer workers;
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, reference or cuda[:N] (default ${DEFAULT-VALUE}).")
    String device;
    @Option(names = "--precision", defaultValue = "fp32", description = "fp32 or bf16: bf16 mixed precision (convolutions and "
            + "matrix products in bfloat16 with fp32 accumulation; weights, optimizer state, batch "
            + "norm and loss in fp32), on cpu "
            + "backends with native bf16 (AVX512-BF16 or AMX) and the reference (default ${DEFAULT-VALUE}).")
    String precision;
    @Option(names = "--monitor", defaultValue = "loss", description = "What picks best.safetensors: loss, auc or accuracy on validation (default ${DEFAULT-VALUE}).")
    String monitor;
    @Option(names = "--target-sensitivity", description = "Choose the threshold reaching this sensitivity on validation (e.g. 0.95) instead of Youden's J.")
    Double targetSensitivity;
    @Option(names = "--threshold", description = "Fixed decision threshold on the positive class probability instead of choosing one.")
    Double threshold;
    @Option(names = "--calibrate", description = "After training, fit a temperature T on the validation set (softmax(logits / T), "
            + "minimum NLL), store it in the model files and choose the threshold on the calibrated probabilities.")
    boolean calibrate;
    @Option(names = "--positive-class", description = "Positive class name for two-class metrics (default: the second class in sorted order).")
    String positiveClass;
    @Option(names = "--strict", description = "Fail on an unreadable image instead of skipping it with a warning.")
    boolean strict;
    @Mixin
    ImageOptions images;
    @Mixin
    CacheOptions cacheOptions;
    @Mixin
    LabelOptions labelSets;
    @Option(names = "--no-progress", description = "No progress bars.")
    boolean noProgress;
    @Option(names = "--no-feature-cache", description = "Run phase 1 through the backbone every epoch even when its features could be cached.")
    boolean noFeatureCache;
    @Option(names = "--patience", description = "Early stopping: end a phase when validation --monitor has not improved for N of its "
            + "epochs, 0 to 10000 (default 0: off). With --resume: from now on.")
    Integer patience;
    @Option(names = "--stop-after-epochs", hidden = true, defaultValue = "0", description = "Testing: stop after N epochs of this process, as a kill would.")
    int stopAfterEpochs;

    /**
     * Options that apply to a resumed run: they change how it runs, not what it computes (the batches are the same
     * whatever the device's thread count or the number of decoding threads; cached and uncached head epochs agree),
     * or, for --strict, only turn a skipped unreadable image into an error. The --cache options only say where decoded
     * images are kept (auto, memory and disk give the same pixels; off skips the presizing, a difference of resampling
     * only, so a run resumed with the cache switched on or off is statistically, not bitwise, the same). Every other option would change the
     * run's saved settings half-way (its data, split, model, schedule or decision), so it is refused.
     */
    static final List<String> RESUMABLE = List.of("--resume", "--device", "--workers", "--strict", "--no-progress",
            "--no-feature-cache", "--stop-after-epochs", "--head-epochs", "--finetune-epochs", "--patience", "--cache", "--cache-dir",
            "--cache-memory");

    @Spec
    CommandSpec spec;

    private boolean given(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    private void checkResumeOptions() {
        List<String> refused = new ArrayList<>();
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            if (!RESUMABLE.contains(o.longestName()) && !refused.contains(o.longestName())) {
                refused.add(o.longestName());
            }
        }
        if (!refused.isEmpty()) {
            throw new OptionException("--resume " + resume + " continues that run with the settings saved in its checkpoint; "
                    + String.join(", ", refused) + " would change them and cannot be given with it. Leave " + (refused.size() == 1 ? "it" : "them") + " out (a resumed run takes only --device, "
                    + "--workers, --strict, --no-progress, --no-feature-cache, --cache, --cache-dir, --cache-memory, --patience and, to train more, --head-epochs "
                    + "and --finetune-epochs), or start a new run with --out");
        }
        if (workers != null) {
            OptionChecks.workers("--workers", workers);
        }
    }

    /** 299 for InceptionV3 (torchvision's crop for its weights; resize then defaults to 342), else 224. */
    static int defaultImageSize(String arch) {
        return arch != null && arch.trim().equalsIgnoreCase("inception_v3") ? 299 : 224;
    }

    @Override
    public Integer call() {
        OptionChecks.between("--stop-after-epochs", stopAfterEpochs, 0, OptionChecks.MAX_EPOCHS, "the epochs to run before stopping");
        imageSize = imageSizeOption != null ? imageSizeOption : defaultImageSize(arch);
        if (!(auxWeight >= 0 && auxWeight <= 10)) {
            throw new OptionException("--aux-weight must be between 0 and 10, got " + auxWeight);
        }
        Trainer.Options opt = new Trainer.Options(Progress.wanted(noProgress), System.out,
                w -> Progress.printLine("warning: " + PrintableText.escape(w)), stopAfterEpochs, !noFeatureCache, auxWeight);
        ImageCache imageCache = cacheOptions.create(ImageCache.Mode.AUTO, opt.warnings());
        System.out.println(PrintableText.escape(imageCache != null ? imageCache.describe()
                : "image cache: off (every epoch decodes every image; --cache)"));
        opt = opt.withImageCache(imageCache);
        int code = train(opt);
        if (imageCache != null) {
            System.out.println(CacheOptions.summary(imageCache));
        }
        return code;
    }

    private int train(Trainer.Options opt) {
        if (resume != null) {
            checkResumeOptions();
            Trainer.More more = new Trainer.More(given("--head-epochs") ? headEpochs : 0, given("--finetune-epochs") ? finetuneEpochs : 0,
                    patience);
            Map<String, Object> marker = Trainer.multiLabelMarker(resume);
            if (marker != null) {
                return exitCode(resumeMultiLabel(marker, more, opt));
            }
            Trainer.Result resumed = Trainer.resume(resume, given("--device") ? device : null, workers, strict, more, opt);
            if (resumed.completed()) {
                PatientSplit.recordAfterResume(resumed.runDir(), opt.warnings());
            }
            return exitCode(resumed);
        }
        labelSets.check(data, val, test, patientRegex);
        if (data == null && !labelSets.given()) {
            throw new TrainingException("--data DIR is required (or --labels FILE.csv --images ROOT, or --resume RUN_DIR)");
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
        Path runDir = out != null ? out : RunFolders.defaultFor(labelSets.given() ? labelSets.labels : data, java.time.LocalDateTime.now());
        if (out == null) {
            System.out.println("run folder: " + PrintableText.escape(runDir.toString()) + " (--out chooses another)");
        }
        int resize = resizeSize != null ? resizeSize : (int) Math.round(imageSize * 256.0 / 224.0);
        int threads = workers != null ? workers : Math.min(OptionChecks.MAX_WORKERS, Runtime.getRuntime().availableProcessors());
        if (labelSets.given()) {
            return trainOnLabels(opt, rule, runDir, resize, threads);
        }
        DataLayout layout = DataLayout.detect(data);
        Path trainDir = data;
        Path valDir = val;
        Path testDir = test;
        if (layout != null) {
            System.out.println(PrintableText.escape(layout.describe(val != null, test != null)));
            trainDir = layout.train();
            valDir = val != null ? val : layout.val();
            testDir = test != null ? test : layout.test();
        }
        if (testDir != null) { // a missing, malformed or mismatched test folder fails now, not after hours of training
            List<String> testClasses = ImageFolder.scan(testDir).classes();
            List<String> trainClasses = ImageFolder.scan(trainDir).classes();
            if (!testClasses.equals(trainClasses)) {
                throw new DatasetException("test classes " + testClasses + " in " + testDir + " differ from training classes " + trainClasses
                        + " in " + trainDir + "; both folders need the same class sub-folders");
            }
        }
        TrainConfig cfg = new TrainConfig(trainDir.toString(), valDir == null ? null : valDir.toString(), valFraction, arch,
                weights == null ? null : weights.toString(), runDir.toString(), imageSize, resize, batchSize, headEpochs, finetuneEpochs,
                lr, lrMult, optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing,
                clipGradNorm, bnPolicy, unfreezeFrom, augment, sampler, seed, threads, device, monitor, rule, positiveClass, strict,
                images.maxImagePixels, images.lenient, calibrate, patientRegex).withInit(init, transferUpTo, initAbove)
                .withPrecision(precision);
        List<PatientSplit.Leak> leaks = patientRegex == null ? List.of() : PatientSplit.check(trainDir, valDir, testDir, cfg);
        leaks.forEach(l -> opt.warnings().accept(l.warning()));
        Trainer.Result result = Trainer.train(cfg, patience == null ? 0 : patience, opt);
        if (patientRegex != null && result.completed()) {
            PatientSplit.record(result.runDir().resolve("metrics.json"), patientRegex, leaks);
        }
        if (testDir != null && result.completed()) { // not after Ctrl-C or --stop-after-epochs: the best model is not final yet
            TestEvaluation.run(result.runDir(), testDir, cfg, opt);
        }
        return exitCode(result);
    }

    /**
     * Multi-label training on label CSV sets (--labels): the sets' per-label counts and split, then the one training
     * loop with binary cross-entropy per label ({@link MultiLabelRun}); the test CSV is evaluated at the end and the
     * patient leakage checks go into metrics.json.
     */
    /** --resume of a multi-label run: its label sets read again with the saved options, seed and validation share. */
    private Trainer.Result resumeMultiLabel(Map<String, Object> marker, Trainer.More more, Trainer.Options opt) {
        if (!(marker.get("source") instanceof Map<?, ?> source)) {
            throw new TrainingException(resume + " is a multi-label run whose label options were not recorded (started through the API "
                    + "or by an older version), so --resume cannot read its sets again; its best.safetensors and last.safetensors are "
                    + "usable; to train more, start a new run with --out");
        }
        TrainConfig saved = dev.graft.train.Checkpoint.read(resume).config();
        LabelOptions.LabelSets sets = LabelOptions.fromSource(source).load(saved.valFraction(), saved.seed(), opt.warnings());
        MultiLabelRun multi = MultiLabelRun.of(sets.train(), sets.validation(), sets.test(), saved.classWeights());
        Trainer.Result r = Trainer.resumeMultiLabel(resume, multi, given("--device") ? device : null, workers, strict, more, opt);
        if (r.completed()) {
            recordLeakage(r.runDir(), sets);
        }
        return r;
    }

    private static void recordLeakage(Path runDir, LabelOptions.LabelSets sets) {
        Path metrics = runDir.resolve("metrics.json");
        try {
            Map<String, Object> json = new com.fasterxml.jackson.databind.ObjectMapper().readValue(metrics.toFile(),
                    new com.fasterxml.jackson.core.type.TypeReference<java.util.LinkedHashMap<String, Object>>() { });
            json.put("patient_leakage", sets.leakageEntry());
            Report.writeJson(metrics, json);
        } catch (java.io.IOException e) {
            throw new TrainingException("cannot update " + metrics + ": " + e.getMessage(), e);
        }
    }

    private int trainOnLabels(Trainer.Options opt, String rule, Path runDir, int resize, int threads) {
        LabelOptions.LabelSets sets = labelSets.load(valFraction, seed, opt.warnings());
        System.out.println(PrintableText.escape(labelSets.labels.toString()) + ": " + sets.train().labels().size() + " labels "
                + PrintableText.escape(sets.train().labels().toString())
                + " (+ positive, - negative, ? unknown: uncertain or blank left out by the policies)");
        System.out.print(LabelOptions.summary(sets));
        System.out.println(PrintableText.escape(sets.splitLine()));
        TrainConfig cfg = new TrainConfig(labelSets.labels.toString(), labelSets.valLabels == null ? null : labelSets.valLabels.toString(),
                valFraction, arch, weights == null ? null : weights.toString(), runDir.toString(), imageSize, resize, batchSize, headEpochs,
                finetuneEpochs, lr, lrMult, optimizer, momentum, weightDecay, nesterov, schedule, warmupEpochs, classWeights, labelSmoothing,
                clipGradNorm, bnPolicy, unfreezeFrom, augment, sampler, seed, threads, device, monitor, rule, positiveClass, strict,
                images.maxImagePixels, images.lenient, calibrate, null).withInit(init, transferUpTo, initAbove)
                .withPrecision(precision);
        Trainer.Result result = Trainer.trainMultiLabel(cfg, MultiLabelRun.of(sets.train(), sets.validation(), sets.test(), classWeights)
                .withSource(labelSets.source()), patience == null ? 0 : patience, opt);
        if (result.completed()) {
            recordLeakage(result.runDir(), sets);
        }
        return exitCode(result);
    }

    private static int exitCode(Trainer.Result r) {
        return r.interrupted() ? 130 : 0;
    }
}
