package dev.graft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.Device;
import dev.graft.engine.StateDict;
import dev.graft.loaders.StateDicts;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.ArchitectureInference;
import dev.graft.models.DecisionRule;
import dev.graft.models.ModelException;
import dev.graft.models.ModelMetadata;
import dev.graft.models.Parameter;
import dev.graft.models.PrintableText;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.Temperature;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A trained model as one safetensors file whose header metadata holds everything needed to predict from the
 * file alone: the architecture ({@code graft.resnet}), class names ({@code graft.classes}, a JSON array),
 * preprocessing ({@code graft.image_size}, {@code graft.resize_size}, {@code graft.mean}, {@code graft.std}),
 * the decision threshold on the positive class's probability ({@code graft.threshold},
 * {@code graft.positive_class}, applied by {@link DecisionRule}), the temperature of {@code --calibrate}
 * ({@code graft.temperature}, {@link Temperature}; probabilities are softmax(logits / T)), the batch-norm policy, what was frozen and the
 * training configuration. Reading checks the metadata with {@link ModelMetadata}, the class the runtime uses too.
 * Files without Graft metadata (torchvision weights) read with numbered classes, ImageNet preprocessing and the
 * argmax rule.
 */
public record ModelFile(StateDict state, List<String> classes, Preprocessing preprocessing, DecisionRule decision, double temperature) {

    public static final String META_CLASSES = ModelMetadata.META_CLASSES;
    public static final String META_THRESHOLD = DecisionRule.META_THRESHOLD;
    public static final String META_POSITIVE = DecisionRule.META_POSITIVE_CLASS;
    public static final String META_FROZEN = "graft.frozen";
    public static final String META_TRAIN_CONFIG = "graft.train_config";
    public static final String META_FORMAT = "graft.format";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Writes weights and metadata atomically (temp file, fsync, rename), after checking the metadata against the rules
     * {@link #read} applies ({@link ModelMetadata}): a class list or preprocessing it would refuse is refused here.
     */
    public static void write(Path file, ResNet model, List<String> classes, Preprocessing pre, double threshold,
                             int positiveClass, TrainConfig config) {
        write(file, model, classes, pre, threshold, positiveClass, Double.NaN, config);
    }

    /**
     * As {@link #write(Path, ResNet, List, Preprocessing, double, int, TrainConfig)}, with the temperature fitted by
     * {@code --calibrate} ({@link Temperature}; NaN: none, so T = 1 on reading).
     */
    public static void write(Path file, ResNet model, List<String> classes, Preprocessing pre, double threshold,
                             int positiveClass, double temperature, TrainConfig config) {
        write(file, model, classes, pre, threshold, positiveClass, temperature, null, config);
    }

    /**
     * A multi-label model: one sigmoid per output, {@code classes} are the label names and {@code perLabel} their
     * thresholds ({@link DecisionRule.PerLabel}: metadata {@code graft.multi_label}, {@code graft.label_thresholds}).
     */
    public static void writeMultiLabel(Path file, ResNet model, Preprocessing pre, DecisionRule.PerLabel perLabel, TrainConfig config) {
        write(file, model, perLabel.labels(), pre, Double.NaN, -1, Double.NaN, perLabel, config);
    }

    private static void write(Path file, ResNet model, List<String> classes, Preprocessing pre, double threshold,
                              int positiveClass, double temperature, DecisionRule.PerLabel perLabel, TrainConfig config) {
        StateDict sd = model.stateDict();
        Map<String, String> m = sd.metadata();
        m.putAll(model.metadata());
        m.putAll(pre.toMetadata());
        m.put(META_FORMAT, "graft-model-1");
        m.put(META_CLASSES, json(classes));
        m.remove(DecisionRule.META_MULTI_LABEL);
        m.remove(DecisionRule.META_LABEL_THRESHOLDS);
        if (perLabel != null) {
            m.putAll(perLabel.toMetadata());
        } else if (classes.size() == 2) {
            m.putAll(DecisionRule.of(classes, positiveClass, threshold, "--threshold").toMetadata());
        }
        m.remove(Temperature.META_TEMPERATURE);
        m.putAll(Temperature.toMetadata(temperature));
        List<String> frozen = new ArrayList<>();
        for (Parameter p : model.parameters()) {
            if (!p.trainable()) {
                frozen.add(p.name());
            }
        }
        m.put(META_FROZEN, json(frozen));
        if (config != null) {
            m.put(META_TRAIN_CONFIG, config.toJson());
        }
        // Graft never writes a file it would refuse to read: the reader's rules, before anything is written.
        ModelMetadata.read(file.toString(), m, model.config());
        StateDicts.write(file, sd);
    }

    /**
     * Reads a model file (safetensors or .pth) and checks its metadata with {@link ModelMetadata}, the rules the
     * runtime applies too; a file without Graft metadata gets numbered classes, ImageNet preprocessing and argmax.
     */
    public static ModelFile read(Path file) {
        StateDict sd = StateDicts.read(file);
        ResNetConfig config = ModelMetadata.architecture(file.toString(), sd.metadata(), () -> {
            try {
                return ArchitectureInference.infer(sd);
            } catch (ModelException e) {
                throw new ModelException(file + ": " + e.getMessage());
            }
        });
        ModelMetadata meta = ModelMetadata.read(file.toString(), sd.metadata(), config);
        Preprocessing pre = new Preprocessing(meta.imageSize(), meta.resizeSize(), meta.mean(), meta.std());
        return new ModelFile(sd, meta.classes(), pre, meta.decision(), meta.temperature());
    }

    /** The per-label decision of a multi-label model, or null for a single-label one. */
    public DecisionRule.PerLabel perLabel() {
        return DecisionRule.PerLabel.fromMetadata("model file", state.metadata(), classes);
    }

    /** Builds the network on {@code device} (architecture from the metadata, else inferred from the keys). */
    public ResNet build(Device device) {
        return ResNet.fromStateDict(state, device);
    }

    /**
     * One line for the terminal: architecture, classes (escaped, see {@link PrintableText}) and input size; a multi-label
     * model's outputs are labels, each with its own sigmoid and threshold, and are named so.
     */
    public String describe() {
        DecisionRule.PerLabel rule = perLabel();
        String outputs = rule == null ? String.format(Locale.ROOT, "%d classes %s", classes.size(), classes)
                : String.format(Locale.ROOT, "%d labels (multi-label: one sigmoid per label, %s, thresholds %s)", rule.labels().size(),
                rule.labels(), java.util.Arrays.stream(rule.thresholds()).mapToObj(t -> String.format(Locale.ROOT, "%.4f", t)).toList());
        return PrintableText.escape(String.format(Locale.ROOT, "%s, %s, input %dx%d", state.metadata().getOrDefault(ResNet.META_ARCHITECTURE, "resnet"),
                outputs, preprocessing.imageSize(), preprocessing.imageSize()));
    }

    static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
