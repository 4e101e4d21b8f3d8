package dev.graft.train;

import java.util.ArrayList;
import java.util.List;

/**
 * ROC figures of one class's scores under resampling weights, in O(n) per resample: the images are sorted once by
 * score and grouped by equal score.
 */
final class WeightedRoc {
    private final int[] order; // images by descending score
    private final int[] groupEnd; // exclusive end in order of each group of equal scores
    private final boolean[] positive;

    WeightedRoc(double[][] probs, int[] labels, int positiveClass) {
        int n = labels.length;
        positive = new boolean[n];
        Integer[] o = new Integer[n];
        for (int i = 0; i < n; i++) {
            o[i] = i;
            positive[i] = labels[i] == positiveClass;
        }
        java.util.Arrays.sort(o, (a, b) -> Double.compare(probs[b][positiveClass], probs[a][positiveClass]));
        order = new int[n];
        List<Integer> ends = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order[i] = o[i];
            if (i == n - 1 || probs[o[i + 1]][positiveClass] != probs[o[i]][positiveClass]) {
                ends.add(i + 1);
            }
        }
        groupEnd = ends.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Mann-Whitney AUC with image i counted {@code w[i]} times (ties half); NaN without positives or negatives. */
    double auc(int[] w) {
        double p = 0, nn = 0, sum = 0, negAbove = 0;
        int start = 0;
        // Descending: a positive beats every negative below it, so count the negatives above and subtract.
        for (int end : groupEnd) {
            double gp = 0, gn = 0;
            for (int k = start; k < end; k++) {
                int i = order[k];
                if (positive[i]) {
                    gp += w[i];
                } else {
                    gn += w[i];
                }
            }
            sum += gp * (negAbove + 0.5 * gn); // pairs this group's positives lose or tie
            negAbove += gn;
            p += gp;
            nn += gn;
            start = end;
        }
        return p == 0 || nn == 0 ? Double.NaN : 1 - sum / (p * nn);
    }

    /** Sensitivity at each false positive rate of {@code grid} (ascending), into {@code out}. */
    void tprAt(int[] w, double[] grid, double[] out) {
        double p = 0, nn = 0;
        for (int i = 0; i < w.length; i++) {
            if (positive[i]) {
                p += w[i];
            } else {
                nn += w[i];
            }
        }
        double[] fx = new double[groupEnd.length + 1], ty = new double[groupEnd.length + 1];
        double tp = 0, fp = 0;
        int start = 0;
        for (int g = 0; g < groupEnd.length; g++) {
            for (int k = start; k < groupEnd[g]; k++) {
                int i = order[k];
                if (positive[i]) {
                    tp += w[i];
                } else {
                    fp += w[i];
                }
            }
            fx[g + 1] = fp / nn;
            ty[g + 1] = tp / p;
            start = groupEnd[g];
        }
        int v = 0;
        for (int g = 0; g < grid.length; g++) {
            double f = grid[g];
            while (v + 1 < fx.length && fx[v + 1] <= f) {
                v++;
            }
            if (fx[v] == f || v + 1 == fx.length) {
                out[g] = ty[v];
            } else {
                out[g] = ty[v] + (ty[v + 1] - ty[v]) * (f - fx[v]) / (fx[v + 1] - fx[v]);
            }
        }
    }
}
