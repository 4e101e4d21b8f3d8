package dev.graft.train;

import dev.graft.models.DecisionRule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Classification metrics over a whole set from predicted class probabilities [N][C], each image decided by the
 * model's {@link DecisionRule} (as {@code graft predict} and the runtime decide). Two-class figures are for the
 * rule's positive class at its threshold (0.5 for argmax). Undefined ratios (no predicted positives for PPV, say)
 * are NaN and print as n/a. {@code calibration} is always computed ({@link Reliability}); {@code uncertainty}
 * ({@link Uncertainty}: bootstrap and DeLong 95% intervals) only when resamples are asked for, else null.
 * {@code accuracy} is at the rule; {@code argmaxAccuracy} takes the most probable class whatever the rule (fastai's
 * {@code accuracy}, and the "acc (argmax)" of the training epoch lines); they differ only under a threshold.
 */
public record Metrics(
        List<String> classes,
        int count,
        double accuracy,
        double balancedAccuracy,
        int[][] confusion,
        double[] precision,
        double[] recall,
        int[] support,
        Binary binary,
        double macroAucOneVsRest,
        Reliability calibration,
        Uncertainty uncertainty,
        double argmaxAccuracy) {

    /** Two-class figures at the decision threshold, for the positive class. */
    public record Binary(int positiveClass, double threshold, double sensitivity, double specificity,
                         double ppv, double npv, Roc roc) {
    }

    public static Metrics compute(double[][] probs, int[] labels, DecisionRule rule) {
        return compute(probs, labels, rule, 0, 0);
    }

    /** With 95% confidence intervals from {@code resamples} stratified bootstrap resamples (0: none) drawn from {@code seed}. */
    public static Metrics compute(double[][] probs, int[] labels, DecisionRule rule, int resamples, long seed) {
        List<String> classes = rule.classes();
        int c = classes.size();
        int n = labels.length;
        int[] predicted = new int[n];
        for (int i = 0; i < n; i++) {
            predicted[i] = rule.decide(probs[i]);
        }
        int[][] confusion = new int[c][c];
        int correct = 0;
        int argmaxCorrect = 0;
        DecisionRule argmax = DecisionRule.argmax(classes);
        for (int i = 0; i < n; i++) {
            confusion[labels[i]][predicted[i]]++;
            correct += labels[i] == predicted[i] ? 1 : 0;
            argmaxCorrect += labels[i] == argmax.decide(probs[i]) ? 1 : 0;
        }
        double[] precision = new double[c], recall = new double[c];
        int[] support = new int[c];
        double recallSum = 0;
        int present = 0;
        for (int k = 0; k < c; k++) {
            int tp = confusion[k][k], row = 0, col = 0;
            for (int j = 0; j < c; j++) {
                row += confusion[k][j];
                col += confusion[j][k];
            }
            support[k] = row;
            precision[k] = col == 0 ? Double.NaN : tp / (double) col;
            recall[k] = row == 0 ? Double.NaN : tp / (double) row;
            if (row > 0) {
                recallSum += recall[k];
                present++;
            }
        }
        Binary binary = null;
        double macroAuc;
        if (c == 2) {
            int positiveClass = rule.positiveIndex();
            double threshold = rule.effectiveThreshold();
            int neg = 1 - positiveClass;
            int tp = confusion[positiveClass][positiveClass], fn = confusion[positiveClass][neg];
            int tn = confusion[neg][neg], fp = confusion[neg][positiveClass];
            Roc roc = rocFor(probs, labels, positiveClass);
            binary = new Binary(positiveClass, threshold, ratio(tp, tp + fn), ratio(tn, tn + fp), ratio(tp, tp + fp), ratio(tn, tn + fn), roc);
            macroAuc = roc.auc();
        } else {
            double sum = 0;
            int defined = 0;
            for (int k = 0; k < c; k++) {
                double auc = rocFor(probs, labels, k).auc();
                if (!Double.isNaN(auc)) {
                    sum += auc;
                    defined++;
                }
            }
            macroAuc = defined == 0 ? Double.NaN : sum / defined;
        }
        Reliability calibration = Reliability.compute(probs, labels, binary != null ? binary.positiveClass() : -1, classes);
        Metrics m = new Metrics(List.copyOf(classes), n, n == 0 ? Double.NaN : correct / (double) n,
                present == 0 ? Double.NaN : recallSum / present, confusion, precision, recall, support, binary, macroAuc, calibration, null,
                n == 0 ? Double.NaN : argmaxCorrect / (double) n);
        if (resamples <= 0 || n == 0) {
            return m;
        }
        return new Metrics(m.classes, m.count, m.accuracy, m.balancedAccuracy, confusion, precision, recall, support, binary, macroAuc,
                calibration, Uncertainty.compute(probs, labels, rule, m, resamples, seed), m.argmaxAccuracy);
    }

    /** Each confusion cell as a percentage of its row (the true class's images); NaN for a class with no images. */
    public double[][] confusionRowPercent() {
        int c = classes.size();
        double[][] pct = new double[c][c];
        for (int t = 0; t < c; t++) {
            int row = 0;
            for (int p = 0; p < c; p++) {
                row += confusion[t][p];
            }
            for (int p = 0; p < c; p++) {
                pct[t][p] = row == 0 ? Double.NaN : 100.0 * confusion[t][p] / row;
            }
        }
        return pct;
    }

    public static Roc rocFor(double[][] probs, int[] labels, int positiveClass) {
        double[] s = new double[labels.length];
        boolean[] pos = new boolean[labels.length];
        for (int i = 0; i < labels.length; i++) {
            s[i] = probs[i][positiveClass];
            pos[i] = labels[i] == positiveClass;
        }
        return Roc.of(s, pos);
    }

    private static double ratio(int a, int b) {
        return b == 0 ? Double.NaN : a / (double) b;
    }

    /** A JSON-ready view (NaN becomes null). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("count", count);
        m.put("accuracy", num(accuracy));
        putCi(m, "accuracy", "accuracy");
        m.put("accuracy_argmax", num(argmaxAccuracy));
        m.put("balanced_accuracy", num(balancedAccuracy));
        m.put("roc_auc", num(macroAucOneVsRest));
        putCi(m, "roc_auc", "roc_auc");
        if (uncertainty != null && uncertainty.delongAuc() != null) {
            m.put("roc_auc_delong_ci95", Uncertainty.ci(uncertainty.delongAuc()));
        }
        List<Map<String, Object>> per = new ArrayList<>();
        for (int k = 0; k < classes.size(); k++) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("class", classes.get(k));
            e.put("precision", num(precision[k]));
            e.put("recall", num(recall[k]));
            e.put("support", support[k]);
            per.add(e);
        }
        m.put("per_class", per);
        m.put("confusion_matrix", confusion);
        m.put("confusion_matrix_note", "rows: true class, columns: predicted class, in class order");
        List<List<Double>> rowPct = new ArrayList<>();
        for (double[] row : confusionRowPercent()) {
            List<Double> r = new ArrayList<>();
            for (double v : row) {
                r.add(num(v));
            }
            rowPct.add(r);
        }
        m.put("confusion_matrix_row_percent", rowPct);
        if (binary != null) {
            Map<String, Object> b = new LinkedHashMap<>();
            b.put("positive_class", classes.get(binary.positiveClass()));
            b.put("threshold", binary.threshold());
            b.put("sensitivity", num(binary.sensitivity()));
            b.put("specificity", num(binary.specificity()));
            b.put("ppv", num(binary.ppv()));
            b.put("npv", num(binary.npv()));
            for (String k : List.of("sensitivity", "specificity", "ppv", "npv")) {
                putCi(b, k, k);
            }
            m.put("binary", b);
        }
        m.put("calibration", calibration.toMap());
        if (uncertainty != null) {
            m.put("confidence_intervals", uncertainty.toMap());
        }
        return m;
    }

    /** {@code key}_ci95: [lower, upper] of the bootstrap interval of {@code figure}, when intervals were computed. */
    private void putCi(Map<String, Object> m, String key, String figure) {
        if (uncertainty != null && uncertainty.bootstrap().containsKey(figure)) {
            m.put(key + "_ci95", Uncertainty.ci(uncertainty.bootstrap().get(figure)));
        }
    }

    private static Double num(double v) {
        return Double.isNaN(v) ? null : v;
    }
}
