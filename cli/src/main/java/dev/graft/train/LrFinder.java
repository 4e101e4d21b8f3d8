package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.KeyPrefixes;
import dev.graft.loaders.StateDicts;
import dev.graft.loaders.images.Augmentation;
import dev.graft.loaders.images.Batch;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.loaders.images.Sampling;
import dev.graft.models.BatchNormPolicy;
import dev.graft.models.ModelMetadata;
import dev.graft.models.ResNet;
import dev.graft.models.optim.GradClip;
import dev.graft.models.optim.Optimizer;
import dev.graft.models.optim.ParamGroup;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * {@code graft lr-find}: Smith's learning-rate range test on the run's training images, with the model, freezing,
 * optimizer, loss and augmentation {@code graft train} would use. The rate grows geometrically from {@code startLr}
 * to {@code endLr} over {@code iterations} mini-batches, one rate for every parameter group (as fastai's
 * {@code lr_find}); the run stops early when the smoothed loss passes {@link LrSweep#DIVERGENCE} times its best or
 * the loss is no longer finite. Nothing is saved but the curve: the weights file is only read, the in-memory model
 * gets its parameters and batch-norm statistics back, and the optimizer is thrown away.
 */
public final class LrFinder {
    public static final List<String> PHASES = List.of("head", "finetune");

    /** What to sweep; checked when made. {@code phase} null: head with pretrained weights, else the whole network. */
    public record Settings(double startLr, double endLr, int iterations, String phase) {
        public Settings {
            OptionChecks.positive("--start-lr", startLr, "the first learning rate");
            OptionChecks.positive("--end-lr", endLr, "the last learning rate");
            if (!(endLr > startLr)) {
                throw new OptionException("--end-lr " + endLr + " is not above --start-lr " + startLr
                        + ": the range test raises the rate; give --end-lr > --start-lr (defaults 1e-7 and 10)");
            }
            OptionChecks.between("--iters", iterations, 2, 100_000, "the number of mini-batches to sweep over");
            phase = phase == null ? null : OptionChecks.oneOf("--phase", phase, PHASES);
        }
    }

    /** The curve (rates as the optimizer held them, raw and smoothed losses) and how it ended. */
    public record Curve(double[] lrs, double[] losses, double[] smoothed, int planned, String stopped) {
    }

    public record Result(Curve curve, List<LrSweep.Suggestion> suggestions, String phase, Path plot, Path json) {
        /** The suggestion (valley), or null when the curve is too short to read. */
        public LrSweep.Suggestion suggestion() {
            return suggestions.isEmpty() ? null : suggestions.get(0);
        }
    }

    private LrFinder() {
    }

    /** Runs the test for {@code cfg}'s data and model and writes lr-find.png and lr-find.json into {@code out}. */
    /** How the sweep talks to the user: its lines, its warnings, and whether a progress bar shows. */
    public record Output(java.io.PrintStream out, java.util.function.Consumer<String> warnings, boolean progress) {
    }

    public static Result run(TrainConfig cfg, Settings s, Path out, Output opt) {
        Backends.Selection sel = Backends.resolve(cfg.device());
        Device device = sel.device();
        sel.notes().forEach(n -> opt.out().println("device: " + n));
        Trainer.checkPrecision(device, cfg.trainingPrecision(), opt.out());
        try (dev.graft.engine.backend.Backend.PrecisionScope p = Backends.get(device).usePrecision(cfg.trainingPrecision())) {
            return sweep(cfg, s, out, opt, device);
        }
    }

    private static Result sweep(TrainConfig cfg, Settings s, Path out, Output opt, Device device) {
        RunData data = RunData.prepare(cfg);
        float[] classWeights = data.classWeights(cfg.classWeights());
        StateDict weights = cfg.weights() == null ? null : KeyPrefixes.stripKnown(StateDicts.read(Path.of(cfg.weights())));
        if (weights == null && Phase.HEAD.equals(s.phase())) {
            throw new OptionException("--phase head trains a new head on a frozen pretrained backbone, but no --weights were given; "
                    + "give --weights, or --phase finetune to sweep the whole randomly initialised network");
        }
        Map<String, String> meta = weights == null ? Map.of() : weights.metadata();
        Preprocessing pre = new Preprocessing(cfg.imageSize(), cfg.resizeSize(), ModelMetadata.mean(String.valueOf(cfg.weights()), meta),
                ModelMetadata.std(String.valueOf(cfg.weights()), meta));
        // Without weights there is no backbone to keep: everything trains, as train's single phase.
        Phase phase = new Phase(weights == null ? Phase.TRAIN : s.phase() == null ? Phase.HEAD : s.phase(), 0, 1);
        Curve curve;
        try (ResNet model = InitialModel.build(cfg, weights, data.classes().size(), device, opt.out())) {
            model.setAuxTraining(false); // the sweep follows the main loss (InceptionV3's auxiliary head is not run)
            model.setBatchNormPolicy(BatchNormPolicy.parse(cfg.bnPolicy()));
            if (cfg.unfreezeFrom() != null) {
                try {
                    model.module(cfg.unfreezeFrom());
                } catch (dev.graft.models.ModelException e) {
                    throw new OptionException("--unfreeze-from '" + cfg.unfreezeFrom() + "': " + e.getMessage()
                            + " (blocks are named as in PyTorch: layer3, layer4.1, ...; this network's freezing units are "
                            + model.topology().unitNames() + ")");
                }
            }
            opt.out().printf(Locale.ROOT, "lr-find: %d training images, %s on %s, phase %s, lr %s to %s over %d mini-batches%n",
                    data.train().size(), model.config().architecture(), device, phase.name(), LrSweep.format(s.startLr()),
                    LrSweep.format(s.endLr()), s.iterations());
            boolean dropLast = data.train().size() > cfg.batchSize();
            Sampling.Order order = cfg.sampler().equals("weighted") ? Sampling.Order.WEIGHTED : Sampling.Order.SHUFFLE;
            try (DataLoader loader = new DataLoader(data.train(), data.classes().size(), pre.training(Augmentation.parse(cfg.augment())),
                    new DataLoader.Options(cfg.batchSize(), order, cfg.seed(), cfg.workers(), Math.max(2, cfg.workers() + 1), dropLast,
                            cfg.strict(), cfg.imageDecoding()), opt.warnings());
                 Progress p = Progress.start("lr-find", (long) s.iterations() * cfg.batchSize(), opt.progress())) {
                curve = sweep(model, phase, cfg, classWeights, loader::epoch, s, p);
            }
        }
        List<LrSweep.Suggestion> suggestions = LrSweep.suggest(curve.lrs(), curve.smoothed(), curve.planned());
        Path plot = out.resolve("lr-find.png");
        Path json = out.resolve("lr-find.json");
        try {
            LrFindPlot.write(plot, curve, suggestions, phase.name());
        } catch (java.io.IOException e) {
            throw new TrainingException(e.getMessage(), e);
        }
        Report.writeJson(json, toJson(cfg, s, phase.name(), curve, suggestions));
        return new Result(curve, suggestions, phase.name(), plot, json);
    }

    /**
     * The sweep itself on {@code model} (train mode, {@code phase}'s freezing and optimizer). {@code epochs} gives
     * the batches of epoch 0, 1, ... (a short data set is gone through again). The model's parameters and buffers
     * are put back as they were, whatever happens.
     */
    static Curve sweep(ResNet model, Phase phase, TrainConfig cfg, float[] classWeights, IntFunction<Iterator<Batch>> epochs,
                       Settings s, Progress progress) {
        double[] planned = LrSweep.rates(s.startLr(), s.endLr(), s.iterations());
        double[] lrs = new double[planned.length];
        double[] losses = new double[planned.length];
        double[] smoothed = new double[planned.length];
        StateDict before = model.stateDict();
        boolean wasTraining = model.isTraining();
        int inputChannels = model.config().inChannels();
        int done = 0;
        String stopped = "completed";
        double avg = 0;
        double power = 1;
        double best = Double.POSITIVE_INFINITY;
        try {
            phase.configureFreezing(model, cfg);
            model.train();
            try (Optimizer optimizer = phase.optimizer(model, cfg)) {
                int epoch = 0;
                Iterator<Batch> it = epochs.apply(epoch);
                sweeping:
                while (done < planned.length) {
                    if (!it.hasNext()) {
                        it = epochs.apply(++epoch);
                        if (!it.hasNext()) {
                            throw new TrainingException("the training loader yields no batches; lr-find needs training images");
                        }
                    }
                    Batch b = it.next();
                    for (ParamGroup g : optimizer.groups()) {
                        optimizer.setLr(g.name(), planned[done]);
                    }
                    double loss;
                    try (Scope step = Scope.open("lr-find")) {
                        Tensor logits = model.forward(Batches.images(b, inputChannels, model.device()));
                        Tensor l = Functional.crossEntropy(logits, b.labels(), classWeights, cfg.labelSmoothing());
                        loss = l.item();
                        if (!Double.isFinite(loss)) {
                            stopped = String.format(Locale.ROOT, "the loss became %s at lr %s", loss, LrSweep.format(planned[done]));
                            break sweeping;
                        }
                        l.backward();
                        if (cfg.clipGradNorm() > 0) {
                            GradClip.clipGradNorm(model.trainableParameters(), cfg.clipGradNorm());
                        }
                        optimizer.step();
                        optimizer.zeroGrad();
                    }
                    lrs[done] = optimizer.lr(optimizer.groups().get(0).name());
                    losses[done] = loss;
                    // Same recurrence as LrSweep.smooth, step by step so the run can stop on it.
                    avg = LrSweep.BETA * avg + (1 - LrSweep.BETA) * loss;
                    power *= LrSweep.BETA;
                    smoothed[done] = avg / (1 - power);
                    best = Math.min(best, smoothed[done]);
                    done++;
                    progress.step(b.size());
                    progress.extra(String.format(Locale.ROOT, "lr %s loss %.4f", LrSweep.format(lrs[done - 1]), smoothed[done - 1]));
                    if (smoothed[done - 1] > LrSweep.DIVERGENCE * best) {
                        stopped = String.format(Locale.ROOT, "the smoothed loss passed %.0fx its best at lr %s",
                                LrSweep.DIVERGENCE, LrSweep.format(lrs[done - 1]));
                        break;
                    }
                }
            }
        } finally {
            model.load(before, true);
            model.train(wasTraining);
        }
        return new Curve(Arrays.copyOf(lrs, done), Arrays.copyOf(losses, done), Arrays.copyOf(smoothed, done), planned.length, stopped);
    }

    private static Map<String, Object> toJson(TrainConfig cfg, Settings s, String phase, Curve c, List<LrSweep.Suggestion> suggestions) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("data", cfg.data());
        json.put("weights", cfg.weights());
        json.put("phase", phase);
        json.put("start_lr", s.startLr());
        json.put("end_lr", s.endLr());
        json.put("iterations", s.iterations());
        json.put("iterations_run", c.lrs().length);
        json.put("stopped", c.stopped());
        json.put("smoothing_beta", LrSweep.BETA);
        json.put("suggestion_method", suggestions.isEmpty() ? null : suggestions.get(0).method());
        json.put("suggested_lr", suggestions.isEmpty() ? null : suggestions.get(0).lr());
        Map<String, Object> all = new LinkedHashMap<>();
        for (LrSweep.Suggestion g : suggestions) {
            all.put(g.method(), g.lr());
        }
        json.put("suggestions", all);
        json.put("lr", c.lrs());
        json.put("loss", c.losses());
        json.put("smoothed_loss", c.smoothed());
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("arch", cfg.arch());
        settings.put("image_size", cfg.imageSize());
        settings.put("batch_size", cfg.batchSize());
        settings.put("optimizer", cfg.optimizer());
        settings.put("weight_decay", cfg.weightDecay());
        settings.put("augment", cfg.augment());
        settings.put("bn_policy", cfg.bnPolicy());
        settings.put("seed", cfg.seed());
        json.put("settings", settings);
        return json;
    }
}
