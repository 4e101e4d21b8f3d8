package dev.graft.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How class probabilities become one predicted class; the single reader of a model file's decision metadata, shared
 * by {@code graft predict}, {@code graft evaluate} and the runtime's {@code Classifier}, so they cannot disagree.
 *
 * <ul>
 *   <li><b>Without a threshold</b> (no {@value #META_THRESHOLD}, as in torchvision weights): the most probable class
 *       wins, ties to the first, as {@code logits.argmax(dim=1)} in PyTorch and fastai's {@code predict}. For two
 *       classes that is "positive when P(positive) &gt;= 0.5", except that an exact tie goes to class 0.</li>
 *   <li><b>With a threshold</b> {@code t}: the positive class wins when its probability is at least {@code t};
 *       otherwise the most probable of the other classes (for two classes: the other one).</li>
 *   <li><b>Positive class</b> ({@value #META_POSITIVE_CLASS}): a class name or, failing that, an index. Default:
 *       class 1 for two classes (sklearn's {@code pos_label=1}), class 0 for one; a model with more classes has
 *       none, and a threshold there must name one.</li>
 *   <li><b>Validation</b>: a threshold is a finite number in [0, 1]; the positive class exists. Anything else is a
 *       {@link DecisionRuleException} naming the key, the value and what to do.</li>
 * </ul>
 *
 * @param positiveIndex the positive class, or -1 when there is none (more than two classes, none named)
 * @param threshold     the positive class wins at or above this; NaN: plain argmax
 */
public record DecisionRule(List<String> classes, int positiveIndex, double threshold) {
    public static final String META_THRESHOLD = "graft.threshold";
    public static final String META_POSITIVE_CLASS = "graft.positive_class";

    public DecisionRule {
        classes = List.copyOf(classes);
        if (positiveIndex < -1 || positiveIndex >= classes.size()) {
            throw new IllegalArgumentException("positive index " + positiveIndex + " outside " + classes);
        }
        if (!Double.isNaN(threshold) && (positiveIndex < 0 || !(threshold >= 0 && threshold <= 1))) {
            throw new IllegalArgumentException("threshold " + threshold + " needs a positive class and a value in [0, 1]");
        }
    }

    /** Argmax over {@code classes}, with the default positive class (for reports and a later threshold). */
    public static DecisionRule argmax(List<String> classes) {
        return new DecisionRule(classes, defaultPositive(classes.size()), Double.NaN);
    }

    /** A fixed threshold on {@code positiveIndex} (training writes these); the value is checked as a user's would be. */
    public static DecisionRule of(List<String> classes, int positiveIndex, double threshold, String source) {
        return new DecisionRule(classes, positiveIndex, Double.NaN).withThreshold(threshold, source);
    }

    /** The rule {@code file}'s metadata states, validated; {@code classes} are the model's class names, in output order. */
    public static DecisionRule fromMetadata(String file, Map<String, String> meta, List<String> classes) {
        int positive = defaultPositive(classes.size());
        String pos = meta.get(META_POSITIVE_CLASS);
        if (pos != null) {
            positive = classIndex(pos, classes);
            if (positive < 0) {
                throw new DecisionRuleException(file + ": metadata " + META_POSITIVE_CLASS + " = '" + pos + "' is neither a class name "
                        + classes + " nor a class index 0.." + (classes.size() - 1) + "; set it to one of them, or remove the key"
                        + defaultNote(classes));
            }
        }
        String raw = meta.get(META_THRESHOLD);
        if (raw == null) {
            return new DecisionRule(classes, positive, Double.NaN);
        }
        String where = file + ": metadata " + META_THRESHOLD + " = '" + raw + "'";
        double t = parseProbability(raw, where, "write a number in [0, 1] there, or remove the key (then the most probable class wins)");
        if (positive < 0) {
            throw new DecisionRuleException(where + " needs " + META_POSITIVE_CLASS + " on a model with " + classes.size()
                    + " classes " + classes + ": name the class the threshold applies to, or remove " + META_THRESHOLD
                    + " (then the most probable class wins)");
        }
        return new DecisionRule(classes, positive, t);
    }

    /** This rule with a user's threshold (e.g. {@code --threshold}, named by {@code option}), validated as the file's is. */
    public DecisionRule withThreshold(double t, String option) {
        checkThreshold(t, option, "leave " + option + " out to use " + describe());
        if (positiveIndex < 0) {
            throw new DecisionRuleException(option + " " + t + ": a threshold needs a positive class, and this model's " + classes.size()
                    + " classes " + classes + " name none (" + META_POSITIVE_CLASS + " in the model file); leave " + option
                    + " out for the most probable class");
        }
        return new DecisionRule(classes, positiveIndex, t);
    }

    /** {@code t} when it is a finite number in [0, 1]; else a {@link DecisionRuleException} naming {@code option}. */
    public static double checkThreshold(double t, String option, String otherwise) {
        if (!(t >= 0 && t <= 1)) {
            throw new DecisionRuleException(option + " " + t + " is not a probability: the decision threshold must be a finite "
                    + "number in [0, 1]; give one, or " + otherwise);
        }
        return t;
    }

    /** The metadata entries that state this rule (none for argmax: absence means argmax). */
    public Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        if (hasThreshold()) {
            m.put(META_THRESHOLD, Double.toString(threshold));
            m.put(META_POSITIVE_CLASS, classes.get(positiveIndex));
        }
        return m;
    }

    public boolean hasThreshold() {
        return !Double.isNaN(threshold);
    }

    /** The two-class threshold equivalent to this rule, for reports: the threshold, or 0.5 for argmax. */
    public double effectiveThreshold() {
        return hasThreshold() ? threshold : 0.5;
    }

    /** The predicted class index for one image's probabilities (in class order). */
    public int decide(double[] probabilities) {
        if (probabilities.length != classes.size()) {
            throw new IllegalArgumentException(probabilities.length + " probabilities for " + classes.size() + " classes");
        }
        if (hasThreshold() && probabilities[positiveIndex] >= threshold) {
            return positiveIndex;
        }
        int skip = hasThreshold() ? positiveIndex : -1;
        int best = -1;
        for (int i = 0; i < probabilities.length; i++) {
            if (i != skip && (best < 0 || probabilities[i] > probabilities[best])) {
                best = i;
            }
        }
        return best < 0 ? positiveIndex : best;
    }

    /** "P(pneumonia) >= 0.3" or "argmax (the most probable class)". */
    public String describe() {
        return hasThreshold()
                ? String.format(Locale.ROOT, "P(%s) >= %s", classes.get(positiveIndex), threshold)
                : "argmax (the most probable class)";
    }

    @Override
    public String toString() {
        return "DecisionRule[" + describe() + "]";
    }

    // ---- multi-label models ---------------------------------------------------------------------------------------

    /** Metadata key marking a multi-label model: value {@value #MULTI_LABEL_SIGMOID}, one sigmoid per output. */
    public static final String META_MULTI_LABEL = "graft.multi_label";
    public static final String MULTI_LABEL_SIGMOID = "sigmoid";
    /** Metadata key of a multi-label model's per-label thresholds: comma-separated numbers in [0, 1], label order. */
    public static final String META_LABEL_THRESHOLDS = "graft.label_thresholds";

    /**
     * The decision of a multi-label model (metadata {@value #META_MULTI_LABEL} = {@value #MULTI_LABEL_SIGMOID}): every
     * output is its own label with probability sigmoid(logit), and label j is called positive when its probability is
     * at least {@code thresholds[j]} (the same "at or above" rule as the single-label threshold). Thresholds absent
     * from the file are 0.5 (logit >= 0).
     */
    public record PerLabel(List<String> labels, double[] thresholds) {
        public PerLabel {
            labels = List.copyOf(labels);
            thresholds = thresholds.clone();
            if (thresholds.length != labels.size()) {
                throw new IllegalArgumentException(thresholds.length + " thresholds for " + labels.size() + " labels");
            }
            for (double t : thresholds) {
                checkThreshold(t, "a label threshold", "choose one in [0, 1]");
            }
        }

        @Override
        public double[] thresholds() {
            return thresholds.clone();
        }

        /** True where label j is called positive: {@code probabilities[j] >= thresholds[j]}. */
        public boolean[] decide(double[] probabilities) {
            if (probabilities.length != labels.size()) {
                throw new IllegalArgumentException(probabilities.length + " probabilities for " + labels.size() + " labels");
            }
            boolean[] out = new boolean[probabilities.length];
            for (int j = 0; j < out.length; j++) {
                out[j] = probabilities[j] >= thresholds[j];
            }
            return out;
        }

        /** The metadata entries that state this decision. */
        public Map<String, String> toMetadata() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put(META_MULTI_LABEL, MULTI_LABEL_SIGMOID);
            StringBuilder b = new StringBuilder();
            for (double t : thresholds) {
                b.append(b.isEmpty() ? "" : ",").append(t);
            }
            m.put(META_LABEL_THRESHOLDS, b.toString());
            return m;
        }

        /** Whether {@code meta} marks a multi-label model. */
        public static boolean isMultiLabel(Map<String, String> meta) {
            return meta.containsKey(META_MULTI_LABEL);
        }

        /**
         * The per-label decision {@code file}'s metadata states, validated, or null for a single-label model;
         * {@code labels} are the model's output names. A bad value is a {@link DecisionRuleException} naming the key.
         */
        public static PerLabel fromMetadata(String file, Map<String, String> meta, List<String> labels) {
            String kind = meta.get(META_MULTI_LABEL);
            if (kind == null) {
                return null;
            }
            if (!kind.trim().equals(MULTI_LABEL_SIGMOID)) {
                throw new DecisionRuleException(file + ": metadata " + META_MULTI_LABEL + " = '" + PrintableText.escape(kind)
                        + "' is not '" + MULTI_LABEL_SIGMOID + "' (one sigmoid per label), the only multi-label model Graft knows; "
                        + "fix the value, or remove the key for a single-label (softmax) model");
            }
            double[] t = new double[labels.size()];
            java.util.Arrays.fill(t, 0.5);
            String raw = meta.get(META_LABEL_THRESHOLDS);
            if (raw != null) {
                String where = file + ": metadata " + META_LABEL_THRESHOLDS + " = '" + PrintableText.escape(raw) + "'";
                String[] parts = raw.split(",", -1);
                if (parts.length != labels.size()) {
                    throw new DecisionRuleException(where + " has " + parts.length + " value(s) for " + labels.size()
                            + " labels; write one threshold in [0, 1] per label, in output order, or remove the key (then 0.5 each)");
                }
                for (int j = 0; j < parts.length; j++) {
                    t[j] = parseProbability(parts[j], where + " (label '" + PrintableText.escape(labels.get(j)) + "')",
                            "write one threshold in [0, 1] per label, or remove the key (then 0.5 each)");
                }
            }
            return new PerLabel(labels, t);
        }
    }

    private static int defaultPositive(int numClasses) {
        return numClasses == 2 ? 1 : numClasses == 1 ? 0 : -1;
    }

    private static String defaultNote(List<String> classes) {
        int d = defaultPositive(classes.size());
        return d < 0 ? " (then there is none)" : " (then class " + d + ", '" + classes.get(d) + "')";
    }

    /** A class name wins over an index, so a class named "1" is that class wherever it sits. */
    private static int classIndex(String value, List<String> classes) {
        int byName = classes.indexOf(value);
        if (byName >= 0) {
            return byName;
        }
        try {
            int i = Integer.parseInt(value.trim());
            return i >= 0 && i < classes.size() ? i : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static double parseProbability(String raw, String where, String fix) {
        double t;
        try {
            t = Double.parseDouble(raw.trim());
        } catch (NumberFormatException e) {
            throw new DecisionRuleException(where + " is not a number; " + fix);
        }
        if (!(t >= 0 && t <= 1)) {
            throw new DecisionRuleException(where + " is not a probability: the decision threshold must be a finite number in [0, 1]; " + fix);
        }
        return t;
    }
}
