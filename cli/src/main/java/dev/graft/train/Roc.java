package dev.graft.train;

import java.util.ArrayList;
import java.util.List;

/**
 * Receiver operating characteristic over the whole set, exactly: one point per distinct score, predicting
 * positive when {@code score >= threshold}. AUC is the trapezoid area, which equals the Mann-Whitney
 * probability that a random positive scores above a random negative (ties count half). Never averaged per batch.
 */
public record Roc(double[] thresholds, double[] fpr, double[] tpr, double auc, int positives, int negatives) {

    public static Roc of(double[] scores, boolean[] positive) {
        int n = scores.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Double.compare(scores[b], scores[a]));
        int pos = 0;
        for (boolean p : positive) {
            pos += p ? 1 : 0;
        }
        int neg = n - pos;
        List<double[]> pts = new ArrayList<>();
        pts.add(new double[] {Double.POSITIVE_INFINITY, 0, 0});
        int tp = 0, fp = 0;
        for (int i = 0; i < n; i++) {
            int k = order[i];
            if (positive[k]) {
                tp++;
            } else {
                fp++;
            }
            if (i == n - 1 || scores[order[i + 1]] != scores[k]) {
                pts.add(new double[] {scores[k], neg == 0 ? Double.NaN : fp / (double) neg, pos == 0 ? Double.NaN : tp / (double) pos});
            }
        }
        double[] th = new double[pts.size()], f = new double[pts.size()], t = new double[pts.size()];
        double auc = 0;
        for (int i = 0; i < pts.size(); i++) {
            th[i] = pts.get(i)[0];
            f[i] = pts.get(i)[1];
            t[i] = pts.get(i)[2];
            if (i > 0) {
                auc += (f[i] - f[i - 1]) * (t[i] + t[i - 1]) / 2;
            }
        }
        return new Roc(th, f, t, pos == 0 || neg == 0 ? Double.NaN : auc, pos, neg);
    }

    /** The largest threshold whose sensitivity reaches {@code target} (ties broken towards higher specificity). */
    public double thresholdForSensitivity(double target) {
        for (int i = 1; i < thresholds.length; i++) {
            if (tpr[i] >= target - 1e-12) {
                return thresholds[i];
            }
        }
        return thresholds[thresholds.length - 1];
    }

    /** The threshold maximising Youden's J = sensitivity + specificity - 1 (first, i.e. highest, on ties). */
    public double youdenThreshold() {
        double best = Double.NEGATIVE_INFINITY;
        double at = 0.5;
        for (int i = 1; i < thresholds.length; i++) {
            double j = tpr[i] - fpr[i];
            if (j > best) {
                best = j;
                at = thresholds[i];
            }
        }
        return at;
    }
}
