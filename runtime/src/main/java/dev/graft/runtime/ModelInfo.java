package dev.graft.runtime;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.DecisionRule;
import dev.graft.models.DecisionRuleException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a model file says besides its weights, read from its safetensors {@code __metadata__}: class names
 * ({@code graft.classes}, a JSON array of strings; default "0".."N-1"), the decision rule ({@code graft.threshold}
 * on the probability of {@code graft.positive_class}; read, validated and applied by {@link DecisionRule}, the same
 * code {@code graft predict} and {@code graft evaluate} use; without a threshold the most probable class wins) and
 * the preprocessing ({@code graft.image_size}, {@code graft.resize_size}, {@code graft.mean}, {@code graft.std};
 * default torchvision's ImageNet evaluation transform at 224). Bad decision metadata is a {@link ModelFileException}
 * whose cause is the {@link DecisionRuleException} (same message) the command line reports.
 */
public record ModelInfo(String architecture, List<String> classes, Preprocessing preprocessing, DecisionRule decision) {
    public static final String META_CLASSES = "graft.classes";
    public static final String META_THRESHOLD = DecisionRule.META_THRESHOLD;
    public static final String META_POSITIVE_CLASS = DecisionRule.META_POSITIVE_CLASS;

    private static final JsonFactory JSON = new JsonFactory();

    public ModelInfo {
        classes = List.copyOf(classes);
    }

    /** Reads the metadata of {@code file} for a model with {@code numClasses} outputs. */
    static ModelInfo read(String file, Map<String, String> meta, String architecture, int numClasses) {
        List<String> classes = meta.containsKey(META_CLASSES) ? parseClasses(file, meta.get(META_CLASSES)) : defaultClasses(numClasses);
        if (classes.size() != numClasses) {
            throw new ModelFileException(file + ": " + META_CLASSES + " names " + classes.size() + " classes but the model has "
                    + numClasses + " outputs");
        }
        Preprocessing pre;
        try {
            pre = Preprocessing.fromMetadata(meta, Preprocessing.imagenet(224));
        } catch (DatasetException | IllegalArgumentException e) {
            throw new ModelFileException(file + ": bad preprocessing metadata: " + e.getMessage(), e);
        }
        DecisionRule decision;
        try {
            decision = DecisionRule.fromMetadata(file, meta, classes);
        } catch (DecisionRuleException e) {
            throw new ModelFileException(e.getMessage(), e);
        }
        return new ModelInfo(architecture, classes, pre, decision);
    }

    private static List<String> defaultClasses(int n) {
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(Integer.toString(i));
        }
        return out;
    }

    private static List<String> parseClasses(String file, String json) {
        List<String> out = new ArrayList<>();
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_ARRAY) {
                throw new ModelFileException(file + ": " + META_CLASSES + " must be a JSON array of strings, got " + shorten(json));
            }
            while (p.nextToken() == JsonToken.VALUE_STRING) {
                out.add(p.getText());
            }
            if (p.currentToken() != JsonToken.END_ARRAY || p.nextToken() != null) {
                throw new ModelFileException(file + ": " + META_CLASSES + " must be a JSON array of strings, got " + shorten(json));
            }
        } catch (IOException e) {
            throw new ModelFileException(file + ": " + META_CLASSES + " is not valid JSON (" + e.getMessage() + ")", e);
        }
        if (out.stream().distinct().count() != out.size()) {
            throw new ModelFileException(file + ": " + META_CLASSES + " repeats a class name: " + out);
        }
        return out;
    }

    private static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }
}
