package dev.graft.models;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What a model file's metadata says besides the weights, read and checked in one place for {@code graft predict},
 * {@code graft evaluate} and the runtime's {@code Classifier}, so a file that one of them refuses, all refuse with the
 * same message. A value that breaks a rule is a {@link ModelMetadataException} naming the file, the key and the
 * value; nothing is clamped or guessed, because a wrong preprocessing or class list still produces confident-looking
 * answers.
 *
 * <ul>
 *   <li>{@value #META_CLASSES}: a JSON array of strings, one per output of the network, each non-empty and
 *       different from the others (a repeated name would make two outputs one label). Absent: "0".."N-1".</li>
 *   <li>{@value #META_IMAGE_SIZE} (the centre crop fed to the network) and {@value #META_RESIZE_SIZE} (the shorter
 *       side before the crop): whole numbers with {@value #MIN_IMAGE_SIZE} &lt;= image size &lt;= resize size &lt;=
 *       {@value #MAX_IMAGE_SIZE}. The upper bound keeps one image within what a workstation can run: at 4096 the
 *       resized image is 3 x 4096 x 4096 floats (200 MB) and the stem's output 64 x 2048 x 2048 floats (1 GiB) for one
 *       image; medical images are classified at 224 to 1024. (A file asking for 30000 used to fail deep inside
 *       preprocessing with a NegativeArraySizeException, 100000 with an OutOfMemoryError.) Absent: 224 and 256
 *       (torchvision's ImageNet evaluation transform); a resize size without an image size takes 224; an image size
 *       without a resize size resizes to the crop.</li>
 *   <li>{@value #META_MEAN} and {@value #META_STD}: three comma-separated finite numbers (R, G, B, for pixels in
 *       [0, 1]); every std at least {@value #MIN_STD}. Normalisation divides by std, so a std of 1e-45 (or a mean
 *       of NaN) turns every image into the same saturated or NaN input and the model into a constant answer.
 *       Absent: ImageNet's statistics.</li>
 *   <li>The decision ({@code graft.threshold}, {@code graft.positive_class}): {@link DecisionRule#fromMetadata}; of a
 *       multi-label model ({@code graft.multi_label}, {@code graft.label_thresholds}): {@link DecisionRule.PerLabel}.</li>
 *   <li>The temperature ({@code graft.temperature}, probabilities are softmax(logits / T); absent: 1):
 *       {@link Temperature#fromMetadata}. The decision threshold applies to these scaled probabilities.</li>
 *   <li>The network ({@link ResNetConfig}, itself bounded to the ResNet family's sizes): as many outputs as class
 *       names, and 3 input channels (RGB) or 1 (grayscale, {@link ResNet#adaptToGrayscale()}), the two inputs
 *       preprocessing makes.</li>
 * </ul>
 *
 * @param mean RGB mean (a copy)
 * @param std  RGB standard deviation (a copy)
 * @param temperature T of softmax(logits / T), 1 when the file has none
 */
public record ModelMetadata(List<String> classes, int imageSize, int resizeSize, float[] mean, float[] std,
                            DecisionRule decision, double temperature) {
    public static final String META_CLASSES = "graft.classes";
    public static final String META_IMAGE_SIZE = "graft.image_size";
    public static final String META_RESIZE_SIZE = "graft.resize_size";
    public static final String META_MEAN = "graft.mean";
    public static final String META_STD = "graft.std";

    public static final int MIN_IMAGE_SIZE = 8;
    public static final int MAX_IMAGE_SIZE = 4096;
    public static final double MIN_STD = 1e-6;
    /** torchvision's ImageNet statistics, as {@code dev.graft.loaders.images.Preprocessing} writes them. */
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};
    public static final int DEFAULT_IMAGE_SIZE = 224;
    public static final int DEFAULT_RESIZE_SIZE = 256;

    private static final JsonFactory JSON = new JsonFactory();

    public ModelMetadata {
        classes = List.copyOf(classes);
        mean = mean.clone();
        std = std.clone();
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    /** Reads and checks the metadata {@code meta} of {@code file}, whose network is {@code config}. */
    public static ModelMetadata read(String file, Map<String, String> meta, ResNetConfig config) {
        List<String> classes = classes(file, meta, config.numClasses());
        if (config.inChannels() != 3 && config.inChannels() != 1) {
            throw new ModelMetadataException(file + ": the network takes " + config.inChannels() + " input channels (conv1.weight); "
                    + "preprocessing makes 3 (RGB) or 1 (grayscale), so this model cannot classify images");
        }
        String rawSize = meta.get(META_IMAGE_SIZE);
        String rawResize = meta.get(META_RESIZE_SIZE);
        int size = rawSize == null ? DEFAULT_IMAGE_SIZE : wholeNumber(file, META_IMAGE_SIZE, rawSize);
        int resize = rawResize != null ? wholeNumber(file, META_RESIZE_SIZE, rawResize) : rawSize == null ? DEFAULT_RESIZE_SIZE : size;
        String sizes = imageSizeProblem(size, resize);
        if (sizes != null) {
            // The defaults are valid, so the value at fault is one the file gave.
            boolean sizeBad = size < MIN_IMAGE_SIZE || size > MAX_IMAGE_SIZE;
            String where = sizeBad ? META_IMAGE_SIZE + " = '" + shorten(rawSize) + "'" : META_RESIZE_SIZE + " = '" + shorten(rawResize) + "'";
            throw new ModelMetadataException(file + ": metadata " + where + ": " + sizes + "; write sizes in that range, or remove "
                    + "the keys (then " + DEFAULT_IMAGE_SIZE + " and " + DEFAULT_RESIZE_SIZE + ")");
        }
        DecisionRule decision = DecisionRule.fromMetadata(file, meta, classes);
        DecisionRule.PerLabel.fromMetadata(file, meta, classes); // a multi-label model's thresholds, checked here too
        return new ModelMetadata(classes, size, resize, mean(file, meta), std(file, meta), decision,
                Temperature.fromMetadata(file, meta));
    }

    /**
     * The network a model file holds: its {@link ResNet#META_CONFIG} line, checked by {@link ResNetConfig} (bounded to
     * the ResNet family's sizes; a bad line is a {@link ModelMetadataException} naming the file and the key), else
     * {@code inferred} from the tensors' names and shapes (whose {@link ModelException} passes through).
     */
    public static ResNetConfig architecture(String file, Map<String, String> meta, Supplier<ResNetConfig> inferred) {
        String line = meta.get(ResNet.META_CONFIG);
        if (line == null) {
            return inferred.get();
        }
        try {
            return ResNetConfig.parse(line);
        } catch (ModelException e) {
            throw new ModelMetadataException(file + ": metadata " + ResNet.META_CONFIG + " = '" + shorten(line) + "': " + e.getMessage()
                    + "; fix the line, or remove the key (then the architecture is inferred from the tensors)");
        }
    }

    /**
     * Why an image size and resize size cannot be used, or null: the rule that {@code --image-size} and
     * {@code --resize-size} follow too.
     */
    public static String imageSizeProblem(int imageSize, int resizeSize) {
        String why = " (a larger image needs gigabytes per image: at 4096, 1 GiB for the first convolution's output alone)";
        if (imageSize < MIN_IMAGE_SIZE || imageSize > MAX_IMAGE_SIZE) {
            return "the image size " + imageSize + " is outside [" + MIN_IMAGE_SIZE + ", " + MAX_IMAGE_SIZE + "] pixels"
                    + (imageSize > MAX_IMAGE_SIZE ? why : "");
        }
        if (resizeSize < imageSize || resizeSize > MAX_IMAGE_SIZE) {
            return "the resize size " + resizeSize + " is outside [image size " + imageSize + ", " + MAX_IMAGE_SIZE + "] pixels"
                    + (resizeSize > MAX_IMAGE_SIZE ? why : "");
        }
        return null;
    }

    /** The RGB mean of {@code meta} ({@value #META_MEAN}), checked; ImageNet's when absent. */
    public static float[] mean(String file, Map<String, String> meta) {
        String raw = meta.get(META_MEAN);
        return raw == null ? IMAGENET_MEAN.clone() : triple(file, META_MEAN, raw, Double.NEGATIVE_INFINITY, "0.485,0.456,0.406");
    }

    /** The RGB standard deviation of {@code meta} ({@value #META_STD}), checked; ImageNet's when absent. */
    public static float[] std(String file, Map<String, String> meta) {
        String raw = meta.get(META_STD);
        return raw == null ? IMAGENET_STD.clone() : triple(file, META_STD, raw, MIN_STD, "0.229,0.224,0.225");
    }

    private static float[] triple(String file, String key, String raw, double min, String imagenet) {
        String where = file + ": metadata " + key + " = '" + shorten(raw) + "'";
        String rule = min > Double.NEGATIVE_INFINITY
                ? "three finite numbers >= " + min + " (normalisation divides by them)" : "three finite numbers";
        String fix = "; write " + rule + ", e.g. ImageNet's " + imagenet + ", or remove the key (then ImageNet's)";
        String[] parts = raw.split(",", -1);
        if (parts.length != 3) {
            throw new ModelMetadataException(where + " has " + parts.length + " value(s), not 3 (R, G, B)" + fix);
        }
        float[] v = new float[3];
        for (int i = 0; i < 3; i++) {
            double d;
            try {
                d = Double.parseDouble(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new ModelMetadataException(where + ": '" + shorten(parts[i].trim()) + "' is not a number" + fix);
            }
            v[i] = (float) d;
            if (!Float.isFinite(v[i])) {
                throw new ModelMetadataException(where + ": " + parts[i].trim() + " is not a finite number" + fix);
            }
            if (d < min) {
                throw new ModelMetadataException(where + ": " + parts[i].trim() + " is below " + min + fix);
            }
        }
        return v;
    }

    private static int wholeNumber(String file, String key, String raw) {
        try {
            return Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            throw new ModelMetadataException(file + ": metadata " + key + " = '" + shorten(raw) + "' is not a whole number of pixels "
                    + "in [" + MIN_IMAGE_SIZE + ", " + MAX_IMAGE_SIZE + "]; write one, or remove the key");
        }
    }

    /** The class names in output order: {@value #META_CLASSES} checked against the network's {@code outputs}. */
    static List<String> classes(String file, Map<String, String> meta, int outputs) {
        String raw = meta.get(META_CLASSES);
        if (raw == null) {
            List<String> out = new ArrayList<>(outputs);
            for (int i = 0; i < outputs; i++) {
                out.add(Integer.toString(i));
            }
            return out;
        }
        String where = file + ": metadata " + META_CLASSES + " = '" + shorten(raw) + "'";
        List<String> names = parseNames(where, raw);
        if (names.size() != outputs) {
            throw new ModelMetadataException(where + " names " + names.size() + " classes but the network has " + outputs
                    + " outputs (fc.weight); list one name per output, in output order");
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            if (n.isBlank()) {
                throw new ModelMetadataException(where + " has an empty class name at position " + i + "; every output needs a name");
            }
            if (!seen.add(n)) {
                throw new ModelMetadataException(where + " repeats the class name '" + shorten(n) + "'; class names must be "
                        + "unique, each naming one output of the network");
            }
        }
        return names;
    }

    private static List<String> parseNames(String where, String json) {
        List<String> out = new ArrayList<>();
        String shape = " is not a JSON array of strings (e.g. [\"normal\",\"pneumonia\"]); write one, or remove the key "
                + "(then the classes are numbered)";
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_ARRAY) {
                throw new ModelMetadataException(where + shape);
            }
            while (p.nextToken() == JsonToken.VALUE_STRING) {
                out.add(p.getText());
            }
            if (p.currentToken() != JsonToken.END_ARRAY || p.nextToken() != null) {
                throw new ModelMetadataException(where + shape);
            }
        } catch (IOException e) {
            throw new ModelMetadataException(where + shape);
        }
        return out;
    }

    private static String shorten(String s) {
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "ModelMetadata[classes %s, image %d, resize %d, %s, T %s]", classes, imageSize, resizeSize,
                decision.describe(), temperature);
    }
}
