package dev.graft.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Calibration of predicted probabilities: a reliability diagram over 10 equal-width bins and the expected calibration
 * error (ECE), the bins' |mean probability - observed frequency| weighted by their share of the images.
 *
 * <p>What is binned (as torchmetrics' binary and multiclass calibration errors):
 * <ul>
 *   <li><b>Two classes</b>: P(positive class) against whether the image is positive, so the diagram reads "of the
 *       images given 30% risk, how many were positive".</li>
 *   <li><b>More classes</b>: the top-label confidence, the largest probability, against whether that most probable
 *       class is the true one (Guo et al. 2017).</li>
 * </ul>
 * Neither depends on the decision threshold. Bins are those of scikit-learn's {@code calibration_curve(strategy=
 * "uniform")}: edges k/10, bin 0 is [0, 0.1], bin k is (k/10, (k+1)/10].
 */
public record Reliability(String binned, List<Bin> bins, double ece, int count) {
    public static final int BINS = 10;

    /** One bin: its edges, images, mean probability and observed frequency (NaN when empty). */
    public record Bin(double lower, double upper, int count, double meanProbability, double observedFrequency) {
    }

    /** {@code positiveClass} >= 0: P(positive) is binned (two classes); -1: the top-label confidence. */
    public static Reliability compute(double[][] probs, int[] labels, int positiveClass, List<String> classes) {
        int n = labels.length;
        double[] conf = new double[n];
        boolean[] hit = new boolean[n];
        for (int i = 0; i < n; i++) {
            if (positiveClass >= 0) {
                conf[i] = probs[i][positiveClass];
                hit[i] = labels[i] == positiveClass;
            } else {
                int best = 0;
                for (int k = 1; k < probs[i].length; k++) {
                    if (probs[i][k] > probs[i][best]) {
                        best = k;
                    }
                }
                conf[i] = probs[i][best];
                hit[i] = best == labels[i];
            }
        }
        int[] count = new int[BINS];
        double[] sumConf = new double[BINS], sumHit = new double[BINS];
        for (int i = 0; i < n; i++) {
            int b = bin(conf[i]);
            count[b]++;
            sumConf[b] += conf[i];
            sumHit[b] += hit[i] ? 1 : 0;
        }
        List<Bin> bins = new ArrayList<>();
        double ece = 0;
        for (int b = 0; b < BINS; b++) {
            double mp = count[b] == 0 ? Double.NaN : sumConf[b] / count[b];
            double of = count[b] == 0 ? Double.NaN : sumHit[b] / count[b];
            bins.add(new Bin(edge(b), edge(b + 1), count[b], mp, of));
            if (count[b] > 0) {
                ece += count[b] / (double) n * Math.abs(mp - of);
            }
        }
        String what = positiveClass >= 0 ? "P(" + classes.get(positiveClass) + ")" : "top-label confidence";
        return new Reliability(what, List.copyOf(bins), n == 0 ? Double.NaN : ece, n);
    }

    /** k/10 as numpy's linspace(0, 1, 11) makes it (k * 0.1), so the fixtures' edges are these. */
    static double edge(int k) {
        return k == BINS ? 1.0 : k * (1.0 / BINS);
    }

    /** The number of inner edges strictly below p (np.searchsorted(edges[1:-1], p), side left). */
    static int bin(double p) {
        int b = 0;
        while (b < BINS - 1 && edge(b + 1) < p) {
            b++;
        }
        return b;
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ece", Double.isNaN(ece) ? null : ece);
        m.put("binned", binned);
        m.put("bins", BINS);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Bin b : bins) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("lower", b.lower());
            r.put("upper", b.upper());
            r.put("count", b.count());
            r.put("mean_probability", Double.isNaN(b.meanProbability()) ? null : b.meanProbability());
            r.put("observed_frequency", Double.isNaN(b.observedFrequency()) ? null : b.observedFrequency());
            rows.add(r);
        }
        m.put("reliability", rows);
        return m;
    }
}
