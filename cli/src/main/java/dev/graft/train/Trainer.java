package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Precision;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.KeyPrefixes;
import dev.graft.loaders.StateDicts;
import dev.graft.loaders.images.Augmentation;
import dev.graft.loaders.images.Batch;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.ImageCache;
import dev.graft.loaders.images.ImageFolder.Sample;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.loaders.images.Sampling;
import dev.graft.models.BatchNormPolicy;
import dev.graft.models.ModelMetadata;
import dev.graft.models.PrintableText;
import dev.graft.models.ResNet;
import dev.graft.models.optim.GradClip;
import dev.graft.models.optim.Optimizer;
import dev.graft.models.optim.ParamGroup;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The two-phase transfer-learning recipe: phase 1 trains a new head on a frozen backbone, phase 2 unfreezes
 * and fine-tunes (see {@link Phase}). After every epoch it validates, writes {@code last.safetensors}, updates
 * {@code best.safetensors} when the monitored figure improves, and writes a full checkpoint atomically; a run
 * resumes from the checkpoint at the next epoch and, on the reference backend, ends bit-identical to an
 * uninterrupted run (data order and augmentation depend only on seed, epoch and position).
 */
public final class Trainer implements AutoCloseable {

    /**
     * How the run talks to the user. {@code stopAfterEpochs} (testing) ends the process's work early, as a kill
     * would; {@code featureCache} false computes phase 1 through the backbone every epoch even where caching applies.
     */
    /**
     * {@code auxWeight}: the weight of an auxiliary head's loss (InceptionV3's AuxLogits; 0 does not run the head), 0.4
     * by default as torchvision's reference training script ({@code loss1 + 0.4 * loss2}); a new run records it in its
     * {@link TrainConfig} and a resumed run takes the saved one. {@code imageCache}: where the
     * run's loaders keep decoded images (null: every epoch decodes every image; see {@link ImageCache}).
     */
    public record Options(boolean progress, PrintStream out, Consumer<String> warnings, int stopAfterEpochs, boolean featureCache,
                          double auxWeight, ImageCache imageCache) {
        public static final double DEFAULT_AUX_WEIGHT = TrainConfig.DEFAULT_AUX_WEIGHT;

        public Options(boolean progress, PrintStream out, Consumer<String> warnings, int stopAfterEpochs, boolean featureCache,
                       double auxWeight) {
            this(progress, out, warnings, stopAfterEpochs, featureCache, auxWeight, null);
        }

        /** These options reading images through {@code cache} (null: none). */
        public Options withImageCache(ImageCache cache) {
            return new Options(progress, out, warnings, stopAfterEpochs, featureCache, auxWeight, cache);
        }

        public Options(boolean progress, PrintStream out, Consumer<String> warnings, int stopAfterEpochs) {
            this(progress, out, warnings, stopAfterEpochs, true);
        }

        public Options(boolean progress, PrintStream out, Consumer<String> warnings, int stopAfterEpochs, boolean featureCache) {
            this(progress, out, warnings, stopAfterEpochs, featureCache, DEFAULT_AUX_WEIGHT);
        }
    }

    /** What a finished (or stopped) run produced; {@code interrupted}: stopped by Ctrl-C (exit code 130). */
    public record Result(Path runDir, boolean completed, Report report, List<EpochRecord> history, boolean interrupted) {
        public Result(Path runDir, boolean completed, Report report, List<EpochRecord> history) {
            this(runDir, completed, report, history, false);
        }
    }

    /**
     * What {@code --resume} may add: more epochs of phase 1 and of phase 2 (0: none; a run without pretrained
     * weights has one phase, which gets both), and a new {@code --patience} (null: the saved one).
     */
    public record More(int headEpochs, int finetuneEpochs, Integer patience) {
        public static final More NOTHING = new More(0, 0, null);
    }

    private final TrainConfig cfg;
    private final Options opt;
    private final Path runDir;
    private final Device device;
    private final RunData data;
    private final Preprocessing pre;
    private final boolean pretrained;
    private List<Phase> phases;
    private final ResNet model;
    private final float[] classWeights;
    private final int inputChannels;
    private final int firstEpochOfThisProcess;
    private TrainState state;
    private Optimizer optimizer;
    /** steps.csv: per-step loss, rate and speed (see {@link StepLog}). */
    private StepLog stepLog;
    private String optimizerPhase;
    /** Files the feature cache's loader skipped (phase 1 on cached features never runs the training loader). */
    private final Set<String> skippedByCache = new HashSet<>();
    /** The resumed checkpoint's optimizer state, kept for the checkpoint written after the report when no epoch ran. */
    private final StateDict savedOptimizer;
    private Interruption interruption;
    /** Null for a single-label run; else the multi-label loss, targets and metrics (see {@link MultiLabelRun}). */
    private final MultiLabelRun multi;
    private final float[][] trainTargets;
    private final float[][] valTargets;

    private Trainer(TrainConfig cfg, Options opt, Checkpoint resume) {
        this(cfg, opt, resume, null);
    }

    private Trainer(TrainConfig cfg, Options opt, Checkpoint resume, MultiLabelRun multi) {
        this.cfg = cfg;
        this.opt = opt;
        this.multi = multi;
        this.runDir = Path.of(cfg.out());
        Backends.Selection sel = Backends.resolve(cfg.device());
        this.device = sel.device();
        DeviceNotes.shown(sel).forEach(n -> opt.out().println("device: " + n));
        checkPrecision(device, cfg.trainingPrecision(), opt.out());
        this.data = multi != null ? multi.runData() : RunData.prepare(cfg);
        this.trainTargets = multi != null ? multi.trainTargets() : null;
        this.valTargets = multi != null ? multi.validationTargets() : null;
        this.classWeights = multi != null ? null : data.classWeights(cfg.classWeights());
        this.pretrained = Initialization.transfers(cfg); // other --init kinds train everything in one phase, as random init
        StateDict weights = cfg.weights() != null ? KeyPrefixes.stripKnown(StateDicts.read(Path.of(cfg.weights()))) : null;
        // Size from the run's options; normalisation statistics from the weights' metadata when they carry them
        // (checked as a model file's are), else ImageNet's.
        Map<String, String> weightsMeta = weights == null ? Map.of() : weights.metadata();
        this.pre = new Preprocessing(cfg.imageSize(), cfg.resizeSize(), ModelMetadata.mean(String.valueOf(cfg.weights()), weightsMeta),
                ModelMetadata.std(String.valueOf(cfg.weights()), weightsMeta));
        this.model = resume != null ? ResNet.fromStateDict(resume.model(), device) : initialModel(weights);
        this.model.setAuxTraining(cfg.auxWeight() > 0);
        if (model.hasAuxHead() && cfg.auxWeight() > 0 && cfg.imageSize() < ResNet.AUX_MIN_IMAGE_SIZE) {
            model.close();
            throw new OptionException("InceptionV3's auxiliary classifier needs images of at least " + ResNet.AUX_MIN_IMAGE_SIZE
                    + " px (its 5x5 convolution runs on Mixed_6e's map pooled 5/3), got --image-size " + cfg.imageSize()
                    + "; use --image-size " + ResNet.AUX_MIN_IMAGE_SIZE + " or more, or --aux-weight 0 to train without it");
        }
        this.inputChannels = model.config().inChannels();
        model.setBatchNormPolicy(BatchNormPolicy.parse(cfg.bnPolicy()));
        if (cfg.unfreezeFrom() != null) {
            try {
                model.module(cfg.unfreezeFrom()); // checked now, not when phase 2 starts
            } catch (dev.graft.models.ModelException e) {
                model.close();
                throw new OptionException("--unfreeze-from '" + cfg.unfreezeFrom() + "': " + e.getMessage()
                        + " (blocks are named as in PyTorch: layer3, layer4.1, ...; this network's freezing units are "
                        + model.topology().unitNames() + ")");
            }
        }
        this.state = resume != null ? resume.state() : new TrainState(0, null, Double.NaN, -1, new ArrayList<>());
        if (state.segments() == null) {
            state = state.withSegments(Phase.segments(cfg, pretrained));
        }
        this.phases = Phase.of(state.segments());
        this.savedOptimizer = resume != null ? resume.optimizer() : null;
        this.firstEpochOfThisProcess = state.epochsDone();
        if (resume != null && resume.optimizer().size() > 0) {
            this.optimizerPhase = resume.state().optimizerPhase();
            Phase p = phaseOf(state.epochsDone());
            // Same phase as the saved state: mid-phase, or an extension segment that continues it (the optimizer's
            // state carries over a segment boundary, as an uninterrupted run keeps it).
            if (p != null && p.name().equals(optimizerPhase)) {
                p.configureFreezing(model, cfg);
                optimizer = p.optimizer(model, cfg);
                optimizer.importState(resume.optimizer());
            }
        }
    }

    /** Starts a new run in {@code cfg.out()}; refuses a folder that already holds a checkpoint. */
    public static Result train(TrainConfig cfg, Options opt) {
        return train(cfg, 0, opt);
    }

    /** As {@link #train(TrainConfig, Options)}, with early stopping after {@code patience} epochs without improvement (0: off). */
    public static Result train(TrainConfig cfg, int patience, Options opt) {
        return start(cfg, null, patience, opt);
    }

    /**
     * A multi-label run ({@link MultiLabelRun}): the same two phases, optimizers, schedules, checkpoints and early
     * stopping, with one sigmoid output per label and binary cross-entropy. {@code cfg.data()}/{@code cfg.val()} only
     * name the sets for the record; the images and targets come from {@code multi}. A marker file in the run folder
     * ({@link MultiLabelRun#MARKER}) holds the labels, the sets' fingerprint and how to read them again, for
     * {@link #resumeMultiLabel}.
     */
    public static Result trainMultiLabel(TrainConfig cfg, MultiLabelRun multi, int patience, Options opt) {
        MultiLabelRun.checkOptions(cfg);
        return start(cfg, multi, patience, opt);
    }

    /** A new run trains with {@code opt.auxWeight()}, recorded in its configuration (a resumed run uses the saved one). */
    private static Result start(TrainConfig cfg, MultiLabelRun multi, int patience, Options opt) {
        cfg = cfg.withAuxWeight(opt.auxWeight());
        OptionChecks.between("--patience", patience, 0, OptionChecks.MAX_EPOCHS, "the epochs without improvement before stopping (0: off)");
        Path dir = Path.of(cfg.out());
        if (Checkpoint.exists(dir)) {
            throw new TrainingException(dir + " already holds a training run; resume it with --resume " + dir
                    + " or choose another --out");
        }
        try {
            Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            throw new TrainingException("cannot create the run folder " + dir + ": " + e.getMessage(), e);
        }
        if (cfg.weights() == null && cfg.init() == null) {
            opt.warnings().accept("no --weights given: the network starts from random weights, so transfer learning is off "
                    + "(phase 1 and 2 become one phase that trains everything)");
        }
        if (multi != null) {
            try {
                Map<String, Object> marker = new java.util.LinkedHashMap<>();
                marker.put("labels", multi.labels());
                marker.put("fingerprint", multi.fingerprint());
                if (multi.source() != null) {
                    marker.put("source", multi.source());
                }
                OutputFiles.write(dir.resolve(MultiLabelRun.MARKER), (ModelFile.json(marker) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            } catch (java.io.IOException e) {
                throw new TrainingException("cannot write " + dir.resolve(MultiLabelRun.MARKER) + ": " + e.getMessage(), e);
            }
        }
        try (Trainer t = new Trainer(cfg, opt, null, multi)) {
            t.state = t.state.withPatience(patience);
            return t.run();
        }
    }

    /**
     * Continues the run in {@code runDir} at the epoch after its last checkpoint, with its saved settings except
     * {@code device} and {@code workers} (null: the saved ones) and {@code strict} (true turns it on).
     */
    public static Result resume(Path runDir, String device, Integer workers, boolean strict, Options opt) {
        return resume(runDir, device, workers, strict, More.NOTHING, opt);
    }

    /**
     * As {@link #resume(Path, String, Integer, boolean, Options)}, and with {@code more} epochs appended to the run's
     * schedule as new segments: each gets a fresh learning-rate schedule of its phase (for one-cycle: a new cycle at
     * the phase's peak rates, as fastai's {@code fit_one_cycle} after {@code fine_tune}); the optimizer's state carries
     * over where the phase continues. A finished run resumed without more epochs is an error saying how to add some.
     */
    public static Result resume(Path runDir, String device, Integer workers, boolean strict, More more, Options opt) {
        if (Files.exists(runDir.resolve(MultiLabelRun.MARKER))) {
            throw new TrainingException(runDir + " is a multi-label run: resume it with its label sets (graft train --resume reads "
                    + "them again from the options saved in " + MultiLabelRun.MARKER + ")");
        }
        return resume(runDir, device, workers, strict, more, opt, null);
    }

    /**
     * The saved marker of a multi-label run folder ({@link MultiLabelRun#MARKER}): labels, fingerprint and, when the
     * run came from the command line, {@code source} (its label-CSV options); null for a single-label run folder.
     */
    public static Map<String, Object> multiLabelMarker(Path runDir) {
        Path f = runDir.resolve(MultiLabelRun.MARKER);
        if (!Files.exists(f)) {
            return null;
        }
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readValue(f.toFile(),
                    new com.fasterxml.jackson.core.type.TypeReference<java.util.LinkedHashMap<String, Object>>() { });
        } catch (java.io.IOException e) {
            throw new TrainingException("cannot read " + f + ": " + e.getMessage() + "; the run's label sets are unknown, so it cannot "
                    + "be resumed (its best.safetensors and last.safetensors are usable; start a new run with --out to train more)", e);
        }
    }

    /**
     * As {@link #resume(Path, String, Integer, boolean, More, Options)} for a multi-label run: {@code multi} must hold
     * the sets the run started with (the marker's fingerprint: same labels, images, targets and positive weights), else
     * it is refused, as a continuation on other data would not be the same run.
     */
    public static Result resumeMultiLabel(Path runDir, MultiLabelRun multi, String device, Integer workers, boolean strict, More more,
                                          Options opt) {
        Map<String, Object> marker = multiLabelMarker(runDir);
        if (marker == null) {
            throw new TrainingException(runDir + " is not a multi-label run (no " + MultiLabelRun.MARKER + "); resume it without label sets");
        }
        Object saved = marker.get("fingerprint");
        if (saved == null) {
            throw new TrainingException(runDir + " is a multi-label run from a version that did not record its label sets, so it cannot "
                    + "be resumed; its best.safetensors and last.safetensors are usable; to train more, start a new run with --out");
        }
        if (!saved.equals(multi.fingerprint())) {
            throw new TrainingException("the label sets given to resume " + runDir + " differ from the ones it was trained on (labels "
                    + marker.get("labels") + "; images, targets or positive weights changed): give the same label CSVs, options and "
                    + "images, or start a new run with --out");
        }
        return resume(runDir, device, workers, strict, more, opt, multi);
    }

    private static Result resume(Path runDir, String device, Integer workers, boolean strict, More more, Options opt, MultiLabelRun multi) {
        OptionChecks.between("--head-epochs", more.headEpochs(), 0, OptionChecks.MAX_EPOCHS, "the number of phase 1 epochs to add");
        OptionChecks.between("--finetune-epochs", more.finetuneEpochs(), 0, OptionChecks.MAX_EPOCHS, "the number of phase 2 epochs to add");
        if (more.patience() != null) {
            OptionChecks.between("--patience", more.patience(), 0, OptionChecks.MAX_EPOCHS, "the epochs without improvement before stopping (0: off)");
        }
        Checkpoint cp = Checkpoint.read(runDir);
        removeStaleTemporaries(runDir);
        TrainConfig c = cp.config();
        c = new TrainConfig(c.data(), c.val(), c.valFraction(), c.arch(), c.weights(), runDir.toString(), c.imageSize(), c.resizeSize(),
                c.batchSize(), c.headEpochs(), c.finetuneEpochs(), c.lr(), c.lrMult(), c.optimizer(), c.momentum(), c.weightDecay(),
                c.nesterov(), c.schedule(), c.warmupEpochs(), c.classWeights(), c.labelSmoothing(), c.clipGradNorm(), c.bnPolicy(),
                c.unfreezeFrom(), c.augment(), c.sampler(), c.seed(), workers != null ? workers : c.workers(),
                device != null ? device : c.device(), c.monitor(), c.threshold(), c.positiveClass(), c.strict() || strict,
                c.maxImagePixels(), c.lenient(), c.calibrate(), c.patientRegex(), c.init(), c.transferUpTo(), c.initAbove(), c.precision(),
                c.auxWeight());
        TrainState s = extended(runDir, c, cp.state(), more, opt);
        try (Trainer t = new Trainer(c, opt, new Checkpoint(c, s, cp.model(), cp.optimizer()), multi)) {
            return t.run();
        }
    }

    /** The saved state with {@code more} applied, after saying what the resumed run will do. */
    private static TrainState extended(Path runDir, TrainConfig c, TrainState s, More more, Options opt) {
        boolean pretrained = Initialization.transfers(c);
        List<TrainState.Segment> segments = new ArrayList<>(s.segments() != null ? s.segments() : Phase.segments(c, pretrained));
        int planned = segments.stream().mapToInt(TrainState.Segment::epochs).sum();
        // Checkpoints from before segments and the flag: finished when every epoch is done and the report was written.
        // (Newer ones say it themselves: their metrics.json may be a previous segment's, from before an extension.)
        boolean finished = s.finished()
                || (s.segments() == null && s.epochsDone() >= planned && Files.exists(runDir.resolve("metrics.json")));
        if (more.patience() != null) {
            s = s.withPatience(more.patience());
        }
        int add = more.headEpochs() + more.finetuneEpochs();
        if (add == 0) {
            if (finished) {
                throw new TrainingException(runDir + " is finished (" + s.epochsDone() + " epochs); give --finetune-epochs M (or --head-epochs M) "
                        + "with --resume to train M more");
            }
            opt.out().printf(Locale.ROOT, "resuming %s after epoch %d of %d%n", runDir, s.epochsDone(), planned);
            return s.withSegments(segments);
        }
        List<TrainState.Segment> added = new ArrayList<>();
        if (!pretrained) {
            added.add(new TrainState.Segment(Phase.TRAIN, add));
        } else {
            if (more.headEpochs() > 0) {
                added.add(new TrainState.Segment(Phase.HEAD, more.headEpochs()));
            }
            if (more.finetuneEpochs() > 0) {
                added.add(new TrainState.Segment(Phase.FINETUNE, more.finetuneEpochs()));
            }
        }
        segments.addAll(added);
        List<Phase> phases = Phase.of(segments);
        for (Phase p : phases.subList(phases.size() - added.size(), phases.size())) {
            opt.out().printf(Locale.ROOT, "extending %s: %s %d more epoch(s), %d -> %d%s; lr schedule: %s%s%n", runDir, p.verb(), p.epochs(),
                    p.firstEpoch(), p.firstEpoch() + p.epochs(),
                    s.epochsDone() < p.firstEpoch() ? " (after the " + (p.firstEpoch() - s.epochsDone()) + " epoch(s) left of its plan)" : "",
                    p.describeSchedule(c), p.firstEpoch() > 0 && phases.get(phases.indexOf(p) - 1).name().equals(p.name())
                            ? "; the optimizer's state carries over" : "");
        }
        return s.withSegments(segments).withFinished(false);
    }

    /** A process killed while writing leaves its temporary file ({@code .NAME.HEX.tmp}) behind; the real files are intact. */
    private static void removeStaleTemporaries(Path runDir) {
        try (var files = Files.list(runDir)) {
            for (Path p : files.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(".") && n.endsWith(".tmp") && Files.isRegularFile(p)) {
                    Files.delete(p);
                }
            }
        } catch (java.io.IOException e) {
            throw new TrainingException("cannot clean temporary files in " + runDir + ": " + e.getMessage(), e);
        }
    }

    private ResNet initialModel(StateDict weights) {
        return InitialModel.build(cfg, weights, data.classes().size(), device, opt.out());
    }

    private Phase phaseOf(int epoch) {
        for (Phase p : phases) {
            if (p.contains(epoch)) {
                return p;
            }
        }
        return null;
    }

    private int totalEpochs() {
        return phases.stream().mapToInt(Phase::epochs).sum();
    }

    // ---- the loop -------------------------------------------------------------------------------------------

    /**
     * Fails now, before any data is read, when {@code device} cannot train in {@code precision} (the backend's typed
     * refusal: not implemented there, or a CPU without native bf16); says which arithmetic a bf16 run uses.
     */
    static void checkPrecision(Device device, Precision precision, java.io.PrintStream out) {
        try (Backend.PrecisionScope p = Backends.get(device).usePrecision(precision)) {
            if (precision != Precision.FP32) {
                out.println("precision: " + precision + " (convolutions and matrix products in bfloat16 with fp32 accumulation; "
                        + "weights, optimizer state, batch norm and loss in fp32)");
            }
        }
    }

    /** Runs the training with the backend in the run's precision, restored afterwards. */
    private Result run() {
        try (Backend.PrecisionScope p = Backends.get(device).usePrecision(cfg.trainingPrecision())) {
            return runInPrecision();
        }
    }

    private Result runInPrecision() {
        Augmentation aug = Augmentation.parse(cfg.augment());
        Sampling.Order order = cfg.sampler().equals("weighted") ? Sampling.Order.WEIGHTED : Sampling.Order.SHUFFLE;
        boolean dropLast = data.train().size() > cfg.batchSize();
        int c = data.classes().size();
        int[] counts = data.trainCounts();
        if (multi != null) {
            opt.out().printf(Locale.ROOT, "data: %s, %d training images%s, %d validation images, %s on %s%n",
                    PrintableText.escape(multi.describe()), data.train().size(), droppedNote(data.train().size(), cfg.batchSize(), dropLast),
                    data.validation().size(), model.config().architecture(), device);
        } else {
            opt.out().printf(Locale.ROOT, "data: %d classes %s, %d training images %s%s, %d validation images, %s on %s%n", c,
                    PrintableText.escape(data.classes().toString()),
                    data.train().size(), java.util.Arrays.toString(counts), droppedNote(data.train().size(), cfg.batchSize(), dropLast),
                    data.validation().size(), model.config().architecture(), device);
        }
        if (cfg.patientRegex() != null && cfg.val() == null) {
            opt.out().println(PrintableText.escape(PatientSplit.describe(data.train(), data.validation(), cfg.patientRegex())));
        }
        try (Interruption stop = Interruption.install(opt.out());
             DataLoader trainLoader = loader(data.train(), pre.training(aug), order, dropLast);
             DataLoader valLoader = loader(data.validation(), pre.evaluation(), Sampling.Order.SEQUENTIAL, false)) {
            interruption = stop;
            FeatureCache trainCache = null;
            FeatureCache valCache = null;
            stepLog = StepLog.resume(runDir.resolve("steps.csv"), state.epochsDone());
            for (int epoch = state.epochsDone(); epoch < totalEpochs(); epoch++) {
                if (stop.requested()) {
                    return interrupted();
                }
                Phase phase = phaseOf(epoch);
                if (optimizer == null || !phase.name().equals(optimizerPhase)) {
                    startPhase(phase);
                }
                boolean cached = opt.featureCache() && phase.name().equals(Phase.HEAD) && aug.isNone()
                        && model.batchNormPolicy() == BatchNormPolicy.HOLD;
                if (cached && trainCache == null) {
                    try (Progress p = Progress.start("features", data.train().size() + data.validation().size(), opt.progress());
                         DataLoader features = loader(data.train(), pre.evaluation(), Sampling.Order.SEQUENTIAL, false)) {
                        trainCache = FeatureCache.compute(model, features, inputChannels, p);
                        valCache = FeatureCache.compute(model, valLoader, inputChannels, p);
                        skippedByCache.addAll(features.skipped());
                    }
                    opt.out().println("phase 1 runs on cached backbone features (frozen backbone, batch norm held, no augmentation)");
                }
                long t0 = System.nanoTime();
                double[] trained = cached ? trainCachedEpoch(phase, epoch, trainCache, order, dropLast) : trainEpoch(phase, epoch, trainLoader);
                if (trained == null) {
                    return interrupted(); // Ctrl-C mid-epoch: that epoch is abandoned
                }
                Predictions val = cached ? predictCached(valCache)
                        : multi != null ? MultiLabelRun.predict(model, valLoader, inputChannels, valTargets,
                                Progress.start("validate", data.validation().size(), opt.progress()))
                        : Predictions.of(model, valLoader, inputChannels, Progress.start("validate", data.validation().size(), opt.progress()));
                checkUsable(trainLoader, valLoader);
                double seconds = (System.nanoTime() - t0) / 1e9;
                double auc = multi != null
                        ? MultiLabelMetrics.meanAuc(val.probabilities(), MultiLabelRun.targetsOf(val, valTargets), multi.labels().size())
                        : c == 2 ? Metrics.rocFor(val.probabilities(), val.labels(), data.positiveClass()).auc() : Double.NaN;
                double valAccuracy = multi != null ? MultiLabelRun.accuracy(val.probabilities(), valTargets, val.sampleIndices())
                        : val.accuracy();
                EpochRecord rec = new EpochRecord(phase.name(), epoch + 1, trained[0], trained[1], val.meanLoss(), valAccuracy, auc,
                        trained[2], seconds, trained[3] / seconds, cached);
                endEpoch(phase, rec, val);
                if (stop.requested()) {
                    return interrupted();
                }
                if (opt.stopAfterEpochs() > 0 && epoch + 1 - firstEpochOfThisProcess == opt.stopAfterEpochs() && epoch + 1 < totalEpochs()) {
                    opt.out().println("stopping after " + opt.stopAfterEpochs() + " epoch(s) as asked; resume with --resume " + runDir);
                    return new Result(runDir, false, null, state.history());
                }
            }
        }
        interruption = null;
        Report report = multi != null ? null : Report.finish(this.cfg, runDir, model, data, pre, inputChannels, state, opt);
        if (multi != null) {
            MultiLabelReport.finish(cfg, runDir, model, multi, data, pre, inputChannels, state, opt);
        }
        // Marks the run finished, so that a later --resume without more epochs says so instead of redoing the report.
        state = state.withFinished(true);
        new Checkpoint(cfg, state, model.stateDict(), optimizer != null ? optimizer.exportState() : savedOptimizer).write(runDir);
        return new Result(runDir, true, report, state.history());
    }

    /** After Ctrl-C: history and curves so far beside the last epoch's checkpoint, and how to go on. */
    private Result interrupted() {
        int done = state.epochsDone();
        if (done == 0) {
            opt.out().println("interrupted before the first epoch ended; nothing was saved: start the run again");
        } else {
            Report.progressSoFar(runDir, state.history(), cfg, state.bestEpoch());
            opt.out().printf(Locale.ROOT, "interrupted after epoch %d of %d; resume with: graft train --resume %s%n", done, totalEpochs(), runDir);
        }
        return new Result(runDir, false, null, state.history(), true);
    }

    /**
     * The part of the data line that says how many training images an epoch sees when the last partial batch is
     * dropped (the progress bar counts those), or "" when none is.
     */
    static String droppedNote(int images, int batchSize, boolean dropLast) {
        int dropped = dropLast ? images % batchSize : 0;
        if (dropped == 0) {
            return "";
        }
        return String.format(Locale.ROOT, " (%d per epoch: the last %d of each epoch's order do not fill a batch of %d and are dropped, "
                + "as PyTorch's drop_last)", images - dropped, dropped, batchSize);
    }

    /** Unreadable images skipped so far must leave images, and every class, to train on and to validate with. */
    private void checkUsable(DataLoader train, DataLoader validation) {
        Set<String> skipped = new HashSet<>(train.skipped());
        skipped.addAll(skippedByCache);
        UsableImages.check("training", cfg.data(), data.train(), data.classes(), skipped);
        UsableImages.check("validation", cfg.val() != null ? cfg.val() : cfg.data(), data.validation(), data.classes(),
                validation.skipped());
    }

    private DataLoader loader(List<Sample> samples, dev.graft.loaders.images.Transform t, Sampling.Order order, boolean dropLast) {
        return new DataLoader(samples, data.classes().size(), t,
                new DataLoader.Options(cfg.batchSize(), order, cfg.seed(), cfg.workers(), Math.max(2, cfg.workers() + 1), dropLast, cfg.strict(),
                        cfg.imageDecoding()),
                opt.warnings(), opt.imageCache());
    }

    private void startPhase(Phase phase) {
        if (optimizer != null) {
            optimizer.close();
        }
        phase.configureFreezing(model, cfg);
        optimizer = phase.optimizer(model, cfg);
        optimizerPhase = phase.name();
        long trainable = model.trainableParameters().stream().mapToLong(p -> p.shape().numel()).sum();
        opt.out().printf(Locale.ROOT, "phase %s: %d epoch(s), %,d of %,d parameters trainable, batch norm %s, peak lr %s%n",
                phase.name(), phase.epochs(), trainable, model.parameterCount(), model.batchNormPolicy().name().toLowerCase(Locale.ROOT),
                lrs());
    }

    private String lrs() {
        StringBuilder b = new StringBuilder();
        for (ParamGroup g : optimizer.groups()) {
            if (!g.name().endsWith("_no_decay")) {
                b.append(b.isEmpty() ? "" : ", ").append(g.name()).append(' ').append(String.format(Locale.ROOT, "%.2g", optimizer.initialLr(g.name())));
            }
        }
        return b.toString();
    }

    /** Returns {mean loss, accuracy, last peak-group lr, images}, or null when Ctrl-C stopped it. */
    private double[] trainEpoch(Phase phase, int epoch, DataLoader loader) {
        model.train();
        int steps = loader.batchesPerEpoch();
        Schedule schedule = phase.schedule(cfg, steps);
        long total = (long) steps * phase.epochs();
        double lossSum = 0;
        double correct = 0;
        int seen = 0;
        int batch = 0;
        double lr = 0;
        stepLog.startEpoch();
        // Full batches only when the last partial one is dropped; one short batch when the set is smaller than a batch.
        long images = Math.min((long) steps * cfg.batchSize(), loader.size());
        try (Progress p = Progress.start(phase.name() + " " + (epoch + 1) + "/" + totalEpochs(), images, opt.progress())) {
            for (Iterator<Batch> it = loader.epoch(epoch); it.hasNext(); batch++) {
                if (interruption != null && interruption.requested()) {
                    return null;
                }
                Batch b = it.next();
                long step = (long) (epoch - phase.firstEpoch()) * steps + batch;
                lr = applySchedule(schedule, step, total);
                try (Scope s = Scope.open("step")) {
                    Tensor logits = model.forward(Batches.images(b, inputChannels, device));
                    double loss = optimize(logits, b, epoch, batch);
                    stepLog.log(epoch + 1, batch + 1, phase.name(), lr, loss, b.size());
                    lossSum += loss * b.size();
                    correct += correctCount(logits, b);
                }
                seen += b.size();
                p.step(b.size());
                p.extra(String.format(Locale.ROOT, "loss %.4f", lossSum / seen));
            }
        }
        return new double[] {lossSum / Math.max(1, seen), correct / (double) Math.max(1, seen), lr, seen};
    }

    /** The same epoch over cached features: identical batches, only the head runs. */
    private double[] trainCachedEpoch(Phase phase, int epoch, FeatureCache cache, Sampling.Order order, boolean dropLast) {
        model.train();
        int[] visit = Sampling.epochOrder(order, data.train(), data.classes().size(), cfg.seed(), epoch);
        int bs = cfg.batchSize();
        int steps = dropLast ? visit.length / bs : (visit.length + bs - 1) / bs;
        Schedule schedule = phase.schedule(cfg, steps);
        long total = (long) steps * phase.epochs();
        double lossSum = 0;
        double correct = 0;
        int seen = 0;
        double lr = 0;
        stepLog.startEpoch();
        for (int batch = 0; batch < steps; batch++) {
            if (interruption != null && interruption.requested()) {
                return null;
            }
            int[] rows = java.util.Arrays.stream(visit, batch * bs, Math.min(visit.length, (batch + 1) * bs)).filter(cache::has).toArray();
            if (rows.length == 0) {
                continue;
            }
            long step = (long) (epoch - phase.firstEpoch()) * steps + batch;
            lr = applySchedule(schedule, step, total);
            Batch b = cache.batch(rows);
            try (Scope s = Scope.open("step")) {
                Tensor logits = model.fc().forward(FeatureCache.tensor(b, device));
                double loss = optimize(logits, b, epoch, batch);
                stepLog.log(epoch + 1, batch + 1, phase.name(), lr, loss, b.size());
                lossSum += loss * b.size();
                correct += correctCount(logits, b);
            }
            seen += b.size();
        }
        return new double[] {lossSum / Math.max(1, seen), correct / (double) Math.max(1, seen), lr, seen};
    }

    private Predictions predictCached(FeatureCache cache) {
        List<double[]> probs = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<Integer> idx = new ArrayList<>();
        double lossSum = 0;
        int n = data.validation().size();
        MultiLabelRun.Collector multiVal = multi != null ? new MultiLabelRun.Collector(valTargets) : null;
        try (var off = dev.graft.engine.Grad.off()) {
            for (int start = 0; start < n; start += cfg.batchSize()) {
                int[] rows = java.util.stream.IntStream.range(start, Math.min(n, start + cfg.batchSize())).filter(cache::has).toArray();
                if (rows.length == 0) {
                    continue;
                }
                Batch b = cache.batch(rows);
                try (Scope s = Scope.open("predict")) {
                    Tensor logits = model.fc().forward(FeatureCache.tensor(b, device));
                    if (multiVal != null) {
                        multiVal.add(logits, b.sampleIndices(), i -> data.validation().get(i).path().toString());
                        continue;
                    }
                    lossSum += Functional.crossEntropy(logits, b.labels()).item() * b.size();
                    Predictions.collect(logits, b, probs, labels, idx, i -> data.validation().get(i).path().toString());
                }
            }
        }
        return multiVal != null ? multiVal.build() : Predictions.build(probs, labels, idx, lossSum);
    }

    private double applySchedule(Schedule schedule, long step, long total) {
        double f = schedule.factor(step, total);
        double top = 0;
        for (ParamGroup g : optimizer.groups()) {
            double v = optimizer.initialLr(g.name()) * f;
            optimizer.setLr(g.name(), v);
            top = Math.max(top, v);
        }
        return top;
    }

    /** The training loss of a batch: per-label binary cross-entropy for a multi-label run, else cross-entropy. */
    private Tensor lossOf(Tensor logits, Batch b) {
        return multi != null ? multi.loss(logits, trainTargets, b.sampleIndices())
                : Functional.crossEntropy(logits, b.labels(), classWeights, cfg.labelSmoothing());
    }

    /** Loss, backward, clipping and the update; a non-finite loss stops the run before anything is written. */
    private double optimize(Tensor logits, Batch b, int epoch, int batch) {
        Tensor loss = lossOf(logits, b);
        Tensor aux = model.takeAuxLogits(); // InceptionV3's AuxLogits in training: loss + w * aux loss, as torchvision's recipe
        if (aux != null && cfg.auxWeight() > 0) {
            loss = Functional.add(loss, Functional.scale(lossOf(aux, b), cfg.auxWeight()));
        }
        double value = loss.item();
        if (!Double.isFinite(value)) {
            String what = String.format(Locale.ROOT, "the loss became %s at epoch %d, step %d; training stopped", value, epoch + 1, batch + 1);
            int done = state.epochsDone();
            if (done == 0) {
                throw new TrainingException(what + " before the first epoch ended, so nothing was written; try a lower --lr or --clip-grad-norm");
            }
            if (epoch == firstEpochOfThisProcess && firstEpochOfThisProcess > 0) {
                // No epoch finished since resuming: the checkpoint resumed from is the prime suspect, not a good state.
                throw new TrainingException(what + " in the first epoch after resuming from " + runDir.resolve(Checkpoint.FILE)
                        + " (epoch " + done + "), so that checkpoint may itself be bad (damaged, or its weights already diverging); "
                        + "nothing was written; start a new run with --out, with a lower --lr or --clip-grad-norm");
            }
            throw new TrainingException(what + "; the checkpoint of epoch " + done + " in " + runDir + " is intact, but resuming it "
                    + "repeats the same steps: start a new run with a lower --lr or --clip-grad-norm");
        }
        loss.backward();
        if (cfg.clipGradNorm() > 0) {
            GradClip.clipGradNorm(model.trainableParameters(), cfg.clipGradNorm());
        }
        optimizer.step();
        optimizer.zeroGrad();
        return value;
    }

    /** Images called right (single-label: argmax); multi-label: each image counts its share of known targets right. */
    private double correctCount(Tensor logits, Batch b) {
        if (multi != null) {
            return MultiLabelRun.correct(logits.toFloatArray(), trainTargets, b.sampleIndices());
        }
        int[] labels = b.labels();
        float[] l = logits.toFloatArray();
        int c = logits.dim(1);
        int ok = 0;
        for (int i = 0; i < labels.length; i++) {
            int best = 0;
            for (int j = 1; j < c; j++) {
                if (l[i * c + j] > l[i * c + best]) {
                    best = j;
                }
            }
            ok += best == labels[i] ? 1 : 0;
        }
        return ok;
    }

    // ---- epoch end: history, model files, checkpoint ---------------------------------------------------------

    private void endEpoch(Phase phase, EpochRecord rec, Predictions val) {
        List<EpochRecord> history = new ArrayList<>(state.history());
        history.add(rec);
        double score = score(rec);
        boolean improved = state.bestEpoch() < 0 || (Double.isFinite(score) && !(score <= state.bestScore()));
        double best = improved ? score : state.bestScore();
        int bestEpoch = improved ? rec.epoch() : state.bestEpoch();
        double threshold = 0.5;
        if (multi != null) { // thresholds 0.5 until the report chooses them on validation
            double[] half = new double[multi.labels().size()];
            java.util.Arrays.fill(half, 0.5);
            dev.graft.models.DecisionRule.PerLabel rule = new dev.graft.models.DecisionRule.PerLabel(multi.labels(), half);
            ModelFile.writeMultiLabel(runDir.resolve("last.safetensors"), model, pre, rule, cfg);
            if (improved) {
                ModelFile.writeMultiLabel(runDir.resolve("best.safetensors"), model, pre, rule, cfg);
            }
        } else {
            ModelFile.write(runDir.resolve("last.safetensors"), model, data.classes(), pre, threshold, Math.max(0, data.positiveClass()), cfg);
            if (improved) {
                ModelFile.write(runDir.resolve("best.safetensors"), model, data.classes(), pre, threshold, Math.max(0, data.positiveClass()), cfg);
            }
        }
        state = new TrainState(rec.epoch(), optimizerPhase, best, bestEpoch, history, state.segments(), state.patience(), state.stops(),
                false);
        EarlyStopping.Decision early = EarlyStopping.check(state, phase, cfg.monitor(), this::score);
        if (early != null) {
            state = early.state();
            phases = Phase.of(state.segments());
        }
        new Checkpoint(cfg, state, model.stateDict(), optimizer.exportState()).write(runDir);
        opt.out().printf(Locale.ROOT, "%-8s epoch %2d/%d  train loss %.4f acc %5.1f%%  val loss %.4f acc %s %5.1f%%%s  lr %.2e  %.1fs (%s img/s)%s%s%n",
                rec.phase(), rec.epoch(), totalEpochs(), rec.trainLoss(), 100 * rec.trainAccuracy(), rec.valLoss(),
                multi != null ? "(labels at 0.5)" : "(argmax)", 100 * rec.valAccuracy(),
                Double.isNaN(rec.valAuc()) ? "" : String.format(Locale.ROOT, multi != null ? " mean auc %.4f" : " auc %.4f", rec.valAuc()), rec.lr(), rec.seconds(),
                Progress.rate(rec.imagesPerSecond()), rec.cachedFeatures() ? " [cached]" : "", improved ? "  *best" : "");
        if (early != null) {
            opt.out().println(early.message() + (rec.epoch() < totalEpochs() ? "; " + phaseOf(rec.epoch()).verb() + " follows" : ""));
        }
    }

    /** The monitored figure of an epoch, larger is better (loss is negated); NaN where it is undefined. */
    private double score(EpochRecord rec) {
        return switch (cfg.monitor()) {
            case "auc" -> rec.valAuc();
            case "accuracy" -> rec.valAccuracy();
            default -> -rec.valLoss();
        };
    }

    /** Frees the model's and the optimizer's memory. */
    @Override
    public void close() {
        if (optimizer != null) {
            optimizer.close();
        }
        model.close();
    }
}
