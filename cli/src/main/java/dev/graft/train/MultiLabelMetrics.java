package dev.graft.train;

import dev.graft.cli.Table;
import dev.graft.models.DecisionRule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-label figures of a multi-label model on one set: for each label, over the images whose target for it is known
 * (NaN targets are left out), the exact ROC AUC ({@link Roc}: all distinct scores, ties half) with DeLong's 95%
 * interval, and sensitivity and specificity at the label's threshold (positive when P >= threshold, the rule of
 * {@link DecisionRule.PerLabel}). A label without positives or without negatives among its known targets has no AUC
 * (shown "n/a") and is left out of the means, which are plain (unweighted) means over the remaining labels, as the
 * per-pathology mean AUC of chest X-ray papers is.
 */
public record MultiLabelMetrics(List<Row> rows, double meanAuc, double meanSensitivity, double meanSpecificity, int labelsInMean) {

    /** One label's figures; NaN where undefined. */
    public record Row(String label, double auc, double aucLow, double aucHigh, double sensitivity, double specificity,
                      double threshold, int positives, int known) {
    }

    /** Figures of {@code probs} [n][L] against {@code targets} [n][L] (1, 0, NaN) at {@code rule}'s thresholds. */
    public static MultiLabelMetrics compute(double[][] probs, float[][] targets, DecisionRule.PerLabel rule) {
        List<String> labels = rule.labels();
        double[] thresholds = rule.thresholds();
        List<Row> rows = new ArrayList<>();
        double sumAuc = 0, sumSens = 0, sumSpec = 0;
        int inMean = 0;
        for (int j = 0; j < labels.size(); j++) {
            Known k = known(probs, targets, j);
            Roc roc = Roc.of(k.scores, k.positive);
            double[] ci = Double.isNaN(roc.auc()) ? new double[] {Double.NaN, Double.NaN} : DeLong.of(k.scores, k.positive).ci95();
            int tp = 0, tn = 0;
            for (int i = 0; i < k.scores.length; i++) {
                boolean called = k.scores[i] >= thresholds[j];
                tp += k.positive[i] && called ? 1 : 0;
                tn += !k.positive[i] && !called ? 1 : 0;
            }
            double sens = roc.positives() == 0 ? Double.NaN : tp / (double) roc.positives();
            double spec = roc.negatives() == 0 ? Double.NaN : tn / (double) roc.negatives();
            rows.add(new Row(labels.get(j), roc.auc(), ci[0], ci[1], sens, spec, thresholds[j], roc.positives(), k.scores.length));
            if (!Double.isNaN(roc.auc())) {
                sumAuc += roc.auc();
                sumSens += sens;
                sumSpec += spec;
                inMean++;
            }
        }
        return new MultiLabelMetrics(List.copyOf(rows), inMean == 0 ? Double.NaN : sumAuc / inMean,
                inMean == 0 ? Double.NaN : sumSens / inMean, inMean == 0 ? Double.NaN : sumSpec / inMean, inMean);
    }

    /** The mean AUC over labels with both classes among their known targets (NaN when none has). */
    public static double meanAuc(double[][] probs, float[][] targets, int labels) {
        double sum = 0;
        int n = 0;
        for (int j = 0; j < labels; j++) {
            Known k = known(probs, targets, j);
            double auc = Roc.of(k.scores, k.positive).auc();
            if (!Double.isNaN(auc)) {
                sum += auc;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /**
     * Per-label thresholds chosen on these predictions by the run's threshold rule ({@link Report#thresholdFrom}:
     * Youden's J, a target sensitivity, or a fixed value), each over that label's known targets; 0.5 for a label
     * without both classes.
     */
    public static DecisionRule.PerLabel chooseThresholds(String rule, double[][] probs, float[][] targets, List<String> labels) {
        double[] t = new double[labels.size()];
        for (int j = 0; j < t.length; j++) {
            Known k = known(probs, targets, j);
            t[j] = Report.thresholdFrom(rule, Roc.of(k.scores, k.positive));
        }
        return new DecisionRule.PerLabel(labels, t);
    }

    private record Known(double[] scores, boolean[] positive) {
    }

    private static Known known(double[][] probs, float[][] targets, int j) {
        int n = 0;
        for (float[] t : targets) {
            n += Float.isNaN(t[j]) ? 0 : 1;
        }
        double[] s = new double[n];
        boolean[] p = new boolean[n];
        int k = 0;
        for (int i = 0; i < targets.length; i++) {
            if (!Float.isNaN(targets[i][j])) {
                s[k] = probs[i][j];
                p[k++] = targets[i][j] >= 0.5f;
            }
        }
        return new Known(s, p);
    }

    /** The terminal table: one row per label, then the mean over the labels with an AUC. */
    public String table() {
        Table t = new Table("label", "AUC [95% CI]", "sensitivity", "specificity", "threshold", "positives/known");
        for (Row r : rows) {
            t.row(r.label(), Double.isNaN(r.auc()) ? "n/a" : String.format(Locale.ROOT, "%.3f [%.3f, %.3f]", r.auc(), r.aucLow(), r.aucHigh()),
                    Table.pct(r.sensitivity()), Table.pct(r.specificity()), Table.num(r.threshold(), 4), r.positives() + "/" + r.known());
        }
        t.row("mean (" + labelsInMean + " of " + rows.size() + " labels)", Table.num(meanAuc, 3), Table.pct(meanSensitivity),
                Table.pct(meanSpecificity), "", "");
        String note = labelsInMean < rows.size()
                ? "n/a: no positive or no negative among the label's known targets; such labels are left out of the mean\n" : "";
        return t + note;
    }

    /** For metrics.json; undefined figures are null. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mean_auc", num(meanAuc));
        m.put("mean_sensitivity", num(meanSensitivity));
        m.put("mean_specificity", num(meanSpecificity));
        m.put("labels_in_mean", labelsInMean);
        List<Map<String, Object>> per = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("label", r.label());
            x.put("auc", num(r.auc()));
            x.put("auc_ci95", Double.isNaN(r.auc()) ? null : List.of(r.aucLow(), r.aucHigh()));
            x.put("sensitivity", num(r.sensitivity()));
            x.put("specificity", num(r.specificity()));
            x.put("threshold", r.threshold());
            x.put("positives", r.positives());
            x.put("negatives", r.known() - r.positives());
            x.put("known", r.known());
            per.add(x);
        }
        m.put("labels", per);
        return m;
    }

    private static Double num(double v) {
        return Double.isNaN(v) ? null : v;
    }
}
