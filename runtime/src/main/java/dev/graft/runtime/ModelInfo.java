package dev.graft.runtime;

import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.DecisionRule;
import dev.graft.models.DecisionRuleException;
import dev.graft.models.ModelException;
import dev.graft.models.ModelMetadata;
import dev.graft.models.ModelMetadataException;
import dev.graft.models.ResNetConfig;
import dev.graft.models.Temperature;

import java.util.List;
import java.util.Map;

/**
 * What a model file says besides its weights, read from its safetensors {@code __metadata__} and checked by
 * {@link ModelMetadata}, the same code {@code graft predict} and {@code graft evaluate} use: class names
 * ({@code graft.classes}; default "0".."N-1"), the decision rule ({@link DecisionRule}: {@code graft.threshold} on
 * the probability of {@code graft.positive_class}; without a threshold the most probable class wins) and the
 * preprocessing ({@code graft.image_size}, {@code graft.resize_size}, {@code graft.mean}, {@code graft.std}; default
 * torchvision's ImageNet evaluation transform at 224), and the temperature ({@code graft.temperature}, {@link Temperature}:
 * probabilities are softmax(logits / T); default 1). Metadata that breaks a rule is a {@link ModelFileException}
 * whose cause is the {@link ModelMetadataException} or {@link DecisionRuleException} (same message) the command line
 * reports.
 */
public record ModelInfo(String architecture, List<String> classes, Preprocessing preprocessing, DecisionRule decision,
                        double temperature, DecisionRule.PerLabel perLabel) {
    public static final String META_CLASSES = ModelMetadata.META_CLASSES;
    public static final String META_THRESHOLD = DecisionRule.META_THRESHOLD;
    public static final String META_POSITIVE_CLASS = DecisionRule.META_POSITIVE_CLASS;

    public ModelInfo {
        classes = List.copyOf(classes);
    }

    /** A single-label model ({@link #perLabel()} null). */
    public ModelInfo(String architecture, List<String> classes, Preprocessing preprocessing, DecisionRule decision, double temperature) {
        this(architecture, classes, preprocessing, decision, temperature, null);
    }

    /**
     * Whether the model is multi-label ({@code graft.multi_label}): one sigmoid per output, each label decided at its
     * own threshold ({@link #perLabel()}).
     */
    public boolean multiLabel() {
        return perLabel != null;
    }

    /** A model without temperature scaling (T = 1). */
    public ModelInfo(String architecture, List<String> classes, Preprocessing preprocessing, DecisionRule decision) {
        this(architecture, classes, preprocessing, decision, Temperature.NONE);
    }

    /** Reads the metadata of {@code file}, whose network is {@code config}. */
    static ModelInfo read(String file, Map<String, String> meta, ResNetConfig config) {
        ModelMetadata m;
        try {
            m = ModelMetadata.read(file, meta, config);
        } catch (ModelException e) {
            throw new ModelFileException(e.getMessage(), e);
        }
        Preprocessing pre = new Preprocessing(m.imageSize(), m.resizeSize(), m.mean(), m.std());
        DecisionRule.PerLabel perLabel;
        try {
            perLabel = DecisionRule.PerLabel.fromMetadata(file, meta, m.classes());
        } catch (ModelException e) {
            throw new ModelFileException(e.getMessage(), e);
        }
        return new ModelInfo(config.architecture(), m.classes(), pre, m.decision(), m.temperature(), perLabel);
    }
}
