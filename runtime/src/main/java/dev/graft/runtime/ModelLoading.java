package dev.graft.runtime;

import dev.graft.engine.Device;
import dev.graft.engine.GraftException;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backends;
import dev.graft.loaders.FormatException;
import dev.graft.loaders.KeyPrefixes;
import dev.graft.loaders.LoadLimitException;
import dev.graft.loaders.StateDictFile;
import dev.graft.loaders.StateDicts;
import dev.graft.models.ArchitectureInference;
import dev.graft.models.Architectures;
import dev.graft.models.InferencePlan;
import dev.graft.models.Int8Calibration;
import dev.graft.models.ModelException;
import dev.graft.models.ModelMetadata;
import dev.graft.models.ModelMetadataException;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * From a model file to something that runs: the header's metadata and tensor names and shapes are read first, the
 * architecture taken from {@code graft.resnet} or inferred from the shapes, every tensor checked against it (a
 * readable error listing what is missing, misshapen or unexpected), then the weights are read, folded and
 * uploaded one layer at a time by {@link InferencePlan#compile(ResNetConfig, java.util.function.Function, Device)}.
 * Wrapper prefixes ({@code module.}, {@code model.}, ...) on every key are stripped, as models do.
 */
final class ModelLoading {
    private ModelLoading() {
    }

    /** A loaded model: the plan (optimised) or the plain eval-mode model (unoptimised), and what describes it. */
    record Loaded(String file, ModelInfo info, Device device, String description, int inChannels, InferencePlan plan,
                  ResNet model) {
    }

    /** Reads, checks and compiles {@code file}. */
    static Loaded load(Path file, Classifier.Options options) {
        return load(file, options, info -> { });
    }

    /** As {@link #load(Path, Classifier.Options)}; {@code onHeader} gets the model's description once the header is read. */
    static Loaded load(Path file, Classifier.Options options, java.util.function.Consumer<ModelInfo> onHeader) {
        String name = String.valueOf(file);
        if (file == null || !Files.isRegularFile(file)) {
            throw new ModelFileException("model file " + name + " does not exist or is not a regular file");
        }
        try (StateDictFile in = open(file)) {
            Map<String, String> meta = in.metadata();
            String declared = meta.get(ResNet.META_ARCHITECTURE);
            if (declared != null && !declared.equals("custom") && !Architectures.names().contains(declared)) {
                throw new ModelFileException("model file " + name + " holds a '" + declared + "' model; this runtime runs the "
                        + "registry's networks " + Architectures.names());
            }
            String prefix = wrapperPrefix(in.shapes().keySet());
            Map<String, Shape> shapes = new LinkedHashMap<>();
            in.shapes().forEach((k, v) -> shapes.put(k.substring(prefix.length()), v));
            ResNetConfig config = config(name, meta, shapes);
            if (options.optimize() && !config.isSwin()) {
                in.checkDigestsInBackground(); // hashing overlaps loading oneDNN and folding; awaited below
            }
            ModelInfo info = ModelInfo.read(name, meta, config);
            onHeader.accept(info);
            Backends.Selection sel = Backends.resolve(options.device());
            String description = Backends.get(sel.device()).description();
            if (!options.optimize() || config.isTransformer()) { // Swin and ViT have no fused plan: they run through their modules
                Precision wanted = precision(name, meta, options.precision());
                if (wanted != Precision.FP32) {
                    throw new ModelFileException("model file " + name + ": " + wanted + " inference runs through the folded, "
                            + "fused inference plan, which " + (config.isTransformer() ? (config.isSwin() ? "a Swin Transformer (" : "a Vision Transformer (")
                            + config.architecture() + ") has not (it runs unfused, in fp32 only)" : "is switched off (optimize false)") + "; use fp32");
                }
                ResNet net;
                try {
                    net = ResNet.fromStateDict(StateDicts.read(file), sel.device());
                } catch (ModelException e) {
                    throw new ModelFileException("model file " + name + ": " + e.getMessage(), e);
                }
                net.eval();
                net.setFusedInference(false);
                return new Loaded(name, info, sel.device(), description, config.inChannels(), null, net);
            }
            InferencePlan plan;
            Precision precision = precision(name, meta, options.precision());
            try {
                plan = InferencePlan.compile(config, key -> in.load(prefix + key), sel.device());
            } catch (ModelException e) {
                in.awaitDigests(); // a damaged file is reported as such, as when each tensor was checked as read
                throw new ModelFileException("model file " + name + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                in.awaitDigests();
                throw e;
            }
            try {
                in.awaitDigests(); // no value of the file is used before its digest matched
            } catch (RuntimeException e) {
                plan.close();
                throw e;
            }
            try {
                plan.withPrecision(precision, precision == Precision.INT8 ? Int8Calibration.fromMetadata(name, meta) : null);
            } catch (ModelException e) {
                plan.close();
                throw new ModelFileException("model file " + name + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                plan.close();
                throw e;
            }
            return new Loaded(name, info, sel.device(), description, config.inChannels(), plan, null);
        } catch (FormatException e) {
            throw new ModelFileException("cannot read model file " + name + ": " + e.getMessage(), e);
        } catch (LoadLimitException e) { // its message names the cost and the property that raises the budget
            throw new ModelFileException("cannot load model file " + name + ": " + e.getMessage(), e);
        }
    }

    /** The precision to run: the one asked for, else the file's (int8 when it holds a calibration, else fp32). */
    private static Precision precision(String name, Map<String, String> meta, Precision asked) {
        Int8Calibration cal;
        try {
            cal = Int8Calibration.fromMetadata(name, meta);
        } catch (ModelException e) {
            throw new ModelFileException(e.getMessage(), e);
        }
        Precision p = asked != null ? asked : cal != null ? Precision.INT8 : Precision.FP32;
        if (p == Precision.INT8 && cal == null) {
            throw new ModelFileException("model file " + name + " holds an fp32 model without int8 calibration; run graft quantize "
                    + "first (graft quantize --model " + name + " --data DIR --out MODEL-int8.safetensors), then use its output");
        }
        return p;
    }

    private static StateDictFile open(Path file) {
        try {
            return StateDictFile.open(file);
        } catch (GraftException e) {
            throw new ModelFileException("cannot read model file " + file + ": " + e.getMessage(), e);
        }
    }

    /** A wrapper prefix ({@code module.} ...) that every key carries, repeated ("" when none), as models strip it. */
    private static String wrapperPrefix(java.util.Set<String> keys) {
        StringBuilder prefix = new StringBuilder();
        for (boolean again = true; again && !keys.isEmpty(); ) {
            again = false;
            for (String p : KeyPrefixes.KNOWN) {
                String full = prefix + p;
                if (keys.stream().allMatch(k -> k.startsWith(full) && k.length() > full.length())) {
                    prefix.append(p);
                    again = true;
                    break;
                }
            }
        }
        return prefix.toString();
    }

    /**
     * The architecture: the file's {@code graft.resnet} line, else inferred from the tensor names and shapes; then
     * every tensor it needs must be there with its shape, and nothing else (as a strict {@code load_state_dict}).
     */
    private static ResNetConfig config(String file, Map<String, String> meta, Map<String, Shape> shapes) {
        ResNetConfig config;
        try {
            config = ModelMetadata.architecture(file, meta, () -> ArchitectureInference.infer(shapes));
        } catch (ModelMetadataException e) {
            throw new ModelFileException(e.getMessage(), e);
        } catch (ModelException e) {
            throw new ModelFileException("model file " + file + " is not a ResNet this runtime can run: " + e.getMessage(), e);
        }
        if (config.isTransformer()) {
            return config; // no fused plan to check against; the unfused model loads strictly
        }
        Map<String, Shape> expected = InferencePlan.stateShapes(config);
        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        expected.forEach((k, shape) -> {
            Shape got = shapes.get(k);
            if (got == null) {
                if (!k.endsWith(".num_batches_tracked")) {
                    missing.add(k);
                }
            } else if (!got.equals(shape)) {
                mismatched.add(k + " " + got + " (expected " + shape + ")");
            }
        });
        List<String> unexpected = shapes.keySet().stream().filter(k -> !expected.containsKey(k)).toList();
        if (!missing.isEmpty() || !mismatched.isEmpty() || !unexpected.isEmpty()) {
            throw new ModelFileException("model file " + file + " is not a ResNet this runtime can run: its tensors do not fit "
                    + config + ":" + list(" missing", missing) + list(" wrong shape", mismatched)
                    + list(" unexpected", unexpected));
        }
        return config;
    }

    private static String list(String what, List<String> keys) {
        if (keys.isEmpty()) {
            return "";
        }
        return what + " (" + keys.size() + ") " + String.join(", ", keys.subList(0, Math.min(4, keys.size())))
                + (keys.size() > 4 ? ", ..." : "") + ";";
    }
}
