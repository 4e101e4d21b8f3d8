package dev.graft.models;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code graft quantize} measured for int8 inference: for each quantized convolution (by its state-dict name),
 * the scale of its input activations ({@code x ~ scale * q}, q in u8 [0, 255] when the input is never negative, as
 * after a relu, else s8 [-128, 127]), plus how many calibration images were used and the method. Weight scales are
 * not stored: they are one per output channel of the folded weights, {@code max_k |w'| / 127}, computed when the
 * plan is compiled (batch norm is folded at load, so only then are the weights to quantize known).
 *
 * <p>In a model file: {@value #META_PRECISION} = {@code int8}; {@value #META_ACTIVATIONS} = entries
 * {@code name=scale:u} or {@code name=scale:s} separated by {@code ;} (scales in Java's shortest round-trip decimal
 * form); {@value #META_IMAGES}; {@value #META_METHOD}.
 *
 * @param inputs per quantized convolution, its input's scale and sign
 * @param images the number of calibration images
 * @param method how the ranges were measured, in words
 */
public record Int8Calibration(Map<String, Range> inputs, int images, String method) {
    public static final String META_PRECISION = "graft.precision";
    public static final String META_ACTIVATIONS = "graft.int8.activations";
    public static final String META_IMAGES = "graft.int8.calibration_images";
    public static final String META_METHOD = "graft.int8.method";

    /** The method {@code graft quantize} uses. */
    public static final String METHOD = "post-training static: input scale = max |x| over the calibration images / 255 "
            + "(u8, input never negative) or / 127 (s8); weights s8 symmetric per output channel of the folded weights; "
            + "first convolution and fc kept fp32";

    /** One input's quantization: {@code x ~ scale * q}, q unsigned (u8) or signed (s8). */
    public record Range(float scale, boolean unsigned) {
        public Range {
            if (!(scale > 0) || !Float.isFinite(scale)) {
                throw new ModelException("an int8 activation scale must be a positive finite number, got " + scale);
            }
        }

        /** From a measured max |x| and min x over the calibration set (an all-zero input gets a scale of 1). */
        public static Range of(double maxAbs, double min) {
            if (!Double.isFinite(maxAbs) || !Double.isFinite(min)) {
                throw new ModelException("the calibration images gave a NaN or infinite activation; check the images");
            }
            boolean unsigned = min >= 0;
            double s = maxAbs / (unsigned ? 255 : 127);
            return new Range(s > 0 && s >= Float.MIN_NORMAL ? (float) s : 1f, unsigned);
        }
    }

    public Int8Calibration {
        inputs = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(inputs));
        if (images < 1) {
            throw new ModelException("an int8 calibration needs at least one image, got " + images);
        }
    }

    /** The metadata lines that mark a model file as int8 and hold this calibration. */
    public Map<String, String> toMetadata() {
        StringBuilder b = new StringBuilder();
        inputs.forEach((name, r) -> {
            if (name.contains(";") || name.contains("=")) {
                throw new ModelException("layer name '" + name + "' cannot be stored in " + META_ACTIVATIONS);
            }
            b.append(b.length() == 0 ? "" : ";").append(name).append('=').append(Float.toString(r.scale()))
                    .append(r.unsigned() ? ":u" : ":s");
        });
        Map<String, String> m = new LinkedHashMap<>();
        m.put(META_PRECISION, "int8");
        m.put(META_ACTIVATIONS, b.toString());
        m.put(META_IMAGES, Integer.toString(images));
        m.put(META_METHOD, method);
        return m;
    }

    /**
     * The calibration in a model file's metadata, or null when the file is not marked int8 (no
     * {@value #META_PRECISION}, or {@code fp32}). A damaged or partial calibration is a ModelException naming the
     * file and the line.
     */
    public static Int8Calibration fromMetadata(String file, Map<String, String> meta) {
        String precision = meta.get(META_PRECISION);
        if (precision == null || precision.trim().equalsIgnoreCase("fp32")) {
            return null;
        }
        if (!precision.trim().equalsIgnoreCase("int8")) {
            throw new ModelException(file + ": " + META_PRECISION + " is '" + PrintableText.escape(precision)
                    + "'; a model file is fp32 or int8 (written by graft quantize)");
        }
        String raw = meta.get(META_ACTIVATIONS);
        String rawImages = meta.get(META_IMAGES);
        if (raw == null || rawImages == null) {
            throw new ModelException(file + " is marked int8 but has no " + (raw == null ? META_ACTIVATIONS : META_IMAGES)
                    + "; rewrite it with graft quantize");
        }
        Map<String, Range> inputs = new LinkedHashMap<>();
        for (String entry : raw.split(";")) {
            int eq = entry.lastIndexOf('=');
            int colon = entry.lastIndexOf(':');
            String flag = colon < 0 ? "" : entry.substring(colon + 1);
            if (eq <= 0 || colon < eq || !(flag.equals("u") || flag.equals("s"))) {
                throw new ModelException(file + ": " + META_ACTIVATIONS + " entry '" + PrintableText.escape(entry)
                        + "' is not name=scale:u or name=scale:s; rewrite the file with graft quantize");
            }
            float scale;
            try {
                scale = Float.parseFloat(entry.substring(eq + 1, colon));
            } catch (NumberFormatException e) {
                throw new ModelException(file + ": " + META_ACTIVATIONS + " entry '" + PrintableText.escape(entry)
                        + "' has no number for its scale; rewrite the file with graft quantize");
            }
            try {
                inputs.put(entry.substring(0, eq), new Range(scale, flag.equals("u")));
            } catch (ModelException e) {
                throw new ModelException(file + ": " + META_ACTIVATIONS + " entry '" + PrintableText.escape(entry) + "': "
                        + e.getMessage());
            }
        }
        int images;
        try {
            images = Integer.parseInt(rawImages.trim());
        } catch (NumberFormatException e) {
            throw new ModelException(file + ": " + META_IMAGES + " is '" + PrintableText.escape(rawImages) + "', not a count");
        }
        return new Int8Calibration(inputs, images, meta.getOrDefault(META_METHOD, "unknown"));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "int8 (%d layers calibrated on %d images)", inputs.size(), images);
    }
}
