package dev.graft.cli;

import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.GraftException;
import dev.graft.engine.Grad;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.KeyPrefixes;
import dev.graft.loaders.LoadOptions;
import dev.graft.loaders.Npy;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.StateDicts;
import dev.graft.models.Architectures;
import dev.graft.models.LoadReport;
import dev.graft.models.ModelException;
import dev.graft.models.Parameter;
import dev.graft.models.Module;
import dev.graft.models.ResNet;
import dev.graft.models.ViTConfig;
import dev.graft.models.VisionTransformer;
import dev.graft.models.ResNetConfig;
import dev.graft.models.StateDictMismatchException;
import dev.graft.train.DeviceNotes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code graft forward}: one batch through a ResNet, logits out, and with labels the cross-entropy loss and every
 * parameter's gradient: the tool for comparing Graft with PyTorch on the same weights and inputs. NaN and infinities
 * are not errors (PyTorch computes with them too) but are reported on stderr wherever they appear: in the input, the
 * logits, the loss and the gradients.
 */
@Command(name = "forward", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run one batch through a ResNet: logits, and with labels the loss and every gradient (PyTorch parity).",
            "Runs a float32 NCHW batch through the model and writes the logits (.npy, float32). With "
                + "--labels, also print the mean cross-entropy loss (torch.nn.CrossEntropyLoss()), back-propagate, "
                + "and with --grads write every parameter's gradient under its torchvision name (.safetensors).",
            "NaN and infinities in the input are computed with, as PyTorch does; a warning on stderr says how many, in "
                + "which images and where, and likewise for the logits, the loss and the gradients.",
            "The architecture comes from the file's graft.resnet metadata, else from its keys and shapes, unless "
                + "--arch names it. Known key prefixes (module., model., backbone., _orig_mod.) are stripped.",
            "Head: when --classes differs from the file's fc, fc is replaced by a new nn.Linear(features, N) "
                + "initialised as torchvision initialises a fresh ResNet's head (nn.Linear's default: weight and "
                + "bias uniform in [-1/sqrt(features), 1/sqrt(features)]), drawn from a Java generator seeded by "
                + "--seed (torch's random stream is not reproduced, so such logits match PyTorch only in "
                + "distribution)."})
final class ForwardCommand implements Callable<Integer> {
    static final String META_LOSS = "graft.loss";
    static final String META_MODE = "graft.mode";

    @Option(names = "--weights", required = true, paramLabel = "FILE", description = "state dict: .pth, .safetensors")
    Path weights;

    @Option(names = "--arch", paramLabel = "NAME", description = "torchvision architecture (resnet18, resnet50, ...); default: inferred")
    String arch;

    @Option(names = "--classes", paramLabel = "N", description = "number of classes; a new head when it differs from the file's")
    Integer classes;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "seed of a replaced head's initialisation (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--train-mode", description = "batch norm with batch statistics, as model.train(); default: model.eval()")
    boolean trainMode;

    @Option(names = "--input", required = true, paramLabel = "X.npy", description = "float32 images [N, C, H, W]")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "LOGITS.npy", description = "where to write the logits [N, classes], float32")
    Path output;

    @Option(names = "--labels", paramLabel = "Y.npy", description = "class indices [N], int64 or int32")
    Path labels;

    @Option(names = "--grads", paramLabel = "GRADS.safetensors", description = "where to write the parameter gradients (needs --labels)")
    Path grads;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "auto",
            description = "auto (cuda, else cpu, else reference), cpu (oneDNN), reference (plain Java), cuda[:N]")
    String device;

    @Option(names = "--key-path", paramLabel = "PATH", description = "where the state dict sits in a wrapped checkpoint, '/'-separated")
    String keyPath;

    @Override
    public Integer call() {
        if (classes != null && classes < 1) {
            throw new GraftException("--classes must be at least 1, got " + classes);
        }
        if (classes != null && classes > ResNetConfig.MAX_CLASSES) {
            throw new GraftException("--classes must be at most " + ResNetConfig.MAX_CLASSES + ", got " + classes);
        }
        if (grads != null && labels == null) {
            throw new GraftException("--grads needs --labels: the gradients are those of the cross-entropy loss");
        }
        if (arch != null && !Architectures.names().contains(arch.trim().toLowerCase(Locale.ROOT))
                && !ViTConfig.isNamed(arch.trim().toLowerCase(Locale.ROOT))) {
            throw new GraftException("--arch: unknown architecture '" + arch + "'; known: " + Architectures.names()
                    + " (deit_small_patch16_224 is deit_s)");
        }
        FileChecks.input("--weights", weights);
        FileChecks.input("--input", input);
        if (labels != null) {
            FileChecks.input("--labels", labels);
        }
        FileChecks.output("--output", output, ".npy", true);
        if (grads != null) {
            FileChecks.output("--grads", grads, ".safetensors", true);
        }
        HostTensor x = ForwardInputs.images(input);
        warnNonFinite("--input " + input, x.toFloats(), x.shape(),
                "; PyTorch computes with them, and so does graft: expect NaN or infinite logits for those images");
        long[] y = labels == null ? null : ForwardInputs.labels(labels, x.shape().dim(0));
        Backends.Selection selection = Backends.resolve(device);
        Device dev = selection.device();
        StateDict state = KeyPrefixes.stripKnown(FileChecks.reading("--weights",
                () -> StateDicts.load(weights, LoadOptions.parseKeyPath(keyPath)).stateDict()));

        if (ForwardVit.applies(arch, state)) {
            List<String> notes = DeviceNotes.shown(selection);
            System.out.println("device: " + dev + (notes.isEmpty() ? "" : " (" + String.join("; ", notes) + ")"));
            try (VisionTransformer model = ForwardVit.build(state, arch, x, dev, weights)) {
                System.out.println("model: " + model + " from " + weights + ", " + (trainMode ? "train" : "eval") + " mode");
                int fileClasses = model.config().numClasses();
                if (classes != null && classes != fileClasses) {
                    model.replaceHead(classes, seed);
                    System.out.println("head: " + model.config().naming().head + " replaced, " + fileClasses + " -> " + classes
                            + " classes, initialised as a new nn.Linear (seed " + seed + ")");
                }
                int[] labelIndices = y == null ? null : ForwardInputs.checkRange(labels, y, model.config().numClasses());
                model.train(trainMode);
                run(model, model.config().architecture(), VisionTransformer.META_CONFIG, model.config().describe(), dev, x, labelIndices);
            }
            return 0;
        }
        try (ResNet model = build(state, dev)) {
            ForwardInputs.checkChannels(input, x, model.config());
            List<String> notes = DeviceNotes.shown(selection);
            System.out.println("device: " + dev + (notes.isEmpty() ? "" : " (" + String.join("; ", notes) + ")"));
            System.out.println("model: " + model.config() + " from " + weights + ", " + (trainMode ? "train" : "eval") + " mode");
            int fileClasses = model.config().numClasses();
            if (classes != null && classes != fileClasses) {
                model.replaceHead(classes, seed);
                System.out.println("head: fc replaced, " + fileClasses + " -> " + classes
                        + " classes, initialised as a new nn.Linear (seed " + seed + ")");
            }
            int[] labelIndices = y == null ? null : ForwardInputs.checkRange(labels, y, model.config().numClasses());
            model.train(trainMode);
            run(model, model.config().architecture(), ResNet.META_CONFIG, model.config().describe(), dev, x, labelIndices);
        }
        return 0;
    }

    /** The model for the weights; a mismatch is rephrased for the command line (the file, the first keys, --arch). */
    private ResNet build(StateDict state, Device dev) {
        try {
            return arch == null ? ResNet.fromStateDict(state, dev) : ResNet.fromStateDict(state, arch, dev);
        } catch (StateDictMismatchException e) {
            LoadReport r = e.report();
            List<String> parts = new ArrayList<>();
            few(parts, "missing keys", r.missing());
            few(parts, "unexpected keys", r.unexpected());
            few(parts, "shape mismatches", r.shapeMismatches());
            throw new GraftException("--weights " + weights + " does not fit " + (arch == null ? "the architecture in its metadata" : arch)
                    + ": " + String.join("; ", parts) + (arch == null ? "" : "; check --arch, or leave it out to infer the architecture from the file"));
        } catch (ModelException e) {
            throw new GraftException("--weights " + weights + ": " + e.getMessage());
        }
    }

    private static void few(List<String> parts, String what, List<?> items) {
        if (!items.isEmpty()) {
            parts.add(items.size() + " " + what + " (" + items.subList(0, Math.min(3, items.size())).stream()
                    .map(Object::toString).collect(java.util.stream.Collectors.joining(", ")) + (items.size() > 3 ? ", ..." : "") + ")");
        }
    }

    /** "warning: WHAT: 3 of 12 values are not finite (...)" plus {@code consequence} on stderr, when there are any. */
    private static void warnNonFinite(String what, float[] values, Shape shape, String consequence) {
        NonFiniteValues bad = NonFiniteValues.of(values, shape);
        if (bad.total() > 0) {
            System.err.println("warning: " + what + ": " + bad.describe() + consequence);
        }
    }

    private void run(Module model, String architecture, String configKey, String configLine, Device dev, HostTensor x,
                     int[] labelIndices) {
        try (Scope scope = Scope.open("forward")) {
            Tensor images = x.toTensor(dev);
            Tensor logits;
            try (Grad.Mode mode = labelIndices == null ? Grad.off() : Grad.on()) {
                logits = model.forward(images);
            }
            Npy.write(output, HostTensor.of(logits));
            System.out.println("logits " + logits.shape() + " -> " + output);
            warnNonFinite("the logits", logits.toFloatArray(), logits.shape(), "");
            if (labelIndices == null) {
                return;
            }
            Tensor loss = Functional.crossEntropy(logits, labelIndices);
            double value = loss.item();
            System.out.printf(Locale.ROOT, "loss: %.9g (mean cross-entropy over %d images)%n", value, labelIndices.length);
            if (!Double.isFinite(value)) {
                System.err.println("warning: the loss is " + value);
            }
            if (grads == null) {
                return;
            }
            loss.backward();
            StateDict out = new StateDict();
            List<String> nonFinite = new ArrayList<>();
            for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
                Tensor g = e.getValue().grad();
                if (g == null) {
                    throw new IllegalStateException("no gradient reached " + e.getKey());
                }
                HostTensor h = HostTensor.of(g);
                out.put(e.getKey(), h);
                NonFiniteValues bad = NonFiniteValues.of(h.toFloats(), h.shape());
                if (bad.total() > 0) {
                    nonFinite.add(e.getKey() + " (" + bad.total() + " of " + h.shape().numel() + ")");
                }
            }
            if (!nonFinite.isEmpty()) {
                System.err.println("warning: the gradients of " + nonFinite.size() + " of " + out.size() + " parameters hold NaN "
                        + "or infinities: " + String.join(", ", nonFinite.subList(0, Math.min(5, nonFinite.size())))
                        + (nonFinite.size() > 5 ? ", ..." : ""));
            }
            out.metadata().put(META_LOSS, Double.toString(value));
            out.metadata().put(META_MODE, trainMode ? "train" : "eval");
            out.metadata().put(ResNet.META_ARCHITECTURE, architecture);
            out.metadata().put(configKey, configLine);
            out.metadata().put(ConvertCommand.META_SOURCE, String.valueOf(weights.getFileName()));
            SafeTensors.write(grads, out);
            System.out.println("gradients of " + out.size() + " parameters -> " + grads);
        }
    }
}
