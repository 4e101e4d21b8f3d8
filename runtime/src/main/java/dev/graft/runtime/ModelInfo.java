package dev.graft.runtime;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.Preprocessing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a model file says besides its weights, read from its safetensors {@code __metadata__}: class names
 * ({@code graft.classes}, a JSON array of strings; default "0".."N-1"), the decision rule ({@code graft.threshold}
 * on the probability of {@code graft.positive_class}, a class name or index, default index 1; without a
 * threshold the most probable class wins) and the preprocessing ({@code graft.image_size}, {@code graft.resize_size},
 * {@code graft.mean}, {@code graft.std}; default torchvision's ImageNet evaluation transform at 224).
 *
 * @param threshold the positive class wins when its probability is at least this; NaN: plain argmax
 */
public record ModelInfo(String architecture, List<String> classes, Preprocessing preprocessing, double threshold,
                        int positiveIndex) {
    public static final String META_CLASSES = "graft.classes";
    public static final String META_THRESHOLD = "graft.threshold";
    public static final String META_POSITIVE_CLASS = "graft.positive_class";

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
        double threshold = Double.NaN;
        int positive = numClasses > 1 ? 1 : 0;
        if (meta.containsKey(META_THRESHOLD)) {
            try {
                threshold = Double.parseDouble(meta.get(META_THRESHOLD).trim());
            } catch (NumberFormatException e) {
                threshold = -1;
            }
            if (!(threshold >= 0 && threshold <= 1)) {
                throw new ModelFileException(file + ": " + META_THRESHOLD + " must be a probability in [0, 1], got '"
                        + meta.get(META_THRESHOLD) + "'");
            }
        }
        String pos = meta.get(META_POSITIVE_CLASS);
        if (pos != null) {
            positive = classes.indexOf(pos);
            if (positive < 0) {
                try {
                    positive = Integer.parseInt(pos.trim());
                } catch (NumberFormatException e) {
                    positive = -1;
                }
            }
            if (positive < 0 || positive >= numClasses) {
                throw new ModelFileException(file + ": " + META_POSITIVE_CLASS + " '" + pos + "' is neither a class name "
                        + classes + " nor an index below " + numClasses);
            }
        }
        return new ModelInfo(architecture, classes, pre, threshold, positive);
    }

    /** The predicted index for softmax probabilities: threshold rule when set, else the first maximum (torch.argmax). */
    int decide(double[] probs) {
        if (!Double.isNaN(threshold)) {
            if (probs[positiveIndex] >= threshold) {
                return positiveIndex;
            }
            int best = -1;
            for (int i = 0; i < probs.length; i++) {
                if (i != positiveIndex && (best < 0 || probs[i] > probs[best])) {
                    best = i;
                }
            }
            return best < 0 ? positiveIndex : best;
        }
        int best = 0;
        for (int i = 1; i < probs.length; i++) {
            if (probs[i] > probs[best]) {
                best = i;
            }
        }
        return best;
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
