package dev.graft.train;

import dev.graft.models.DecisionRule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * 95% confidence intervals for one evaluation: a stratified {@link Bootstrap} (percentile method) for ROC AUC,
 * accuracy and, with two classes, sensitivity, specificity, PPV and NPV at the model's decision rule; DeLong's
 * interval for the two-class AUC; and a bootstrap band around the ROC curve.
 *
 * <p>Each resample decides every image as the full set does (the rule and its threshold are fixed; they are not chosen
 * again per resample), so the intervals are those of the reported figures. More than two classes: accuracy and the
 * macro one-vs-rest AUC only, the latter only while resamples x classes x images stays within
 * {@value #MACRO_AUC_WORK} (1,000 resamples of 50,000 images in 1,000 classes would take minutes; the AUC interval is then
 * left out and the others kept). A figure undefined in a resample (PPV with no predicted positive) is left out of that
 * figure's interval, and the count of such resamples is kept; an interval with no defined resample is NaN.
 *
 * <p>ROC band: for each resample, the sensitivity at each of 101 false positive rates 0, 0.01, ..., 1 on the
 * resample's ROC curve (linear between its vertices, as the trapezoid AUC reads it; where the curve rises vertically at
 * that rate, the top), then the 2.5% and 97.5% quantiles per rate.
 */
public record Uncertainty(int resamples, long seed, Map<String, Interval> bootstrap, Interval delongAuc, RocBand rocBand) {
    public static final double LOWER_Q = 0.025;
    public static final double UPPER_Q = 0.975;
    public static final int BAND_POINTS = 101;
    /** The most resamples x classes x images spent on the macro AUC's interval (about a second). */
    public static final long MACRO_AUC_WORK = 1_000_000_000L;

    /** A point estimate and its 95% interval; {@code undefinedResamples} only for the bootstrap. */
    public record Interval(double value, double lower, double upper, String method, int undefinedResamples) {
    }

    /** Pointwise 95% band of sensitivity over a grid of false positive rates. */
    public record RocBand(double[] fpr, double[] lower, double[] upper) {
    }

    /**
     * Intervals around {@code point} (computed by {@link Metrics#compute} from the same probabilities, labels and rule)
     * from {@code resamples} stratified resamples drawn from {@code seed}.
     */
    public static Uncertainty compute(double[][] probs, int[] labels, DecisionRule rule, Metrics point, int resamples, long seed) {
        if (resamples < 1) {
            throw new IllegalArgumentException("resamples must be >= 1, got " + resamples);
        }
        int n = labels.length;
        int c = rule.classes().size();
        if (n == 0) {
            throw new IllegalArgumentException("no images to resample");
        }
        boolean[] correct = new boolean[n];
        int[] predicted = new int[n];
        for (int i = 0; i < n; i++) {
            predicted[i] = rule.decide(probs[i]);
            correct[i] = predicted[i] == labels[i];
        }
        Bootstrap boot = new Bootstrap(labels, c, seed);
        Map<String, double[]> dist = new LinkedHashMap<>();
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("roc_auc", point.macroAucOneVsRest());
        values.put("accuracy", point.accuracy());
        Metrics.Binary bin = point.binary();
        if (bin != null) {
            values.put("sensitivity", bin.sensitivity());
            values.put("specificity", bin.specificity());
            values.put("ppv", bin.ppv());
            values.put("npv", bin.npv());
        }
        for (String k : values.keySet()) {
            dist.put(k, new double[resamples]);
        }
        boolean macroAuc = bin == null && (long) resamples * c * n <= MACRO_AUC_WORK;
        if (bin == null && !macroAuc) {
            values.remove("roc_auc");
            dist.remove("roc_auc");
        }
        int pos = bin != null ? bin.positiveClass() : -1;
        List<WeightedRoc> rocs = new ArrayList<>();
        for (int k = 0; k < c; k++) {
            boolean needed = bin != null ? k == pos : macroAuc;
            rocs.add(needed ? new WeightedRoc(probs, labels, k) : null);
        }
        double[][] band = bin != null ? new double[BAND_POINTS][resamples] : null;
        double[] grid = new double[BAND_POINTS];
        for (int g = 0; g < BAND_POINTS; g++) {
            grid[g] = g / (double) (BAND_POINTS - 1);
        }
        double[] tprs = new double[BAND_POINTS];
        for (int b = 0; b < resamples; b++) {
            int[] w = boot.next();
            double ok = 0;
            for (int i = 0; i < n; i++) {
                ok += correct[i] ? w[i] : 0;
            }
            dist.get("accuracy")[b] = ok / n;
            if (bin != null) {
                WeightedRoc roc = rocs.get(pos);
                dist.get("roc_auc")[b] = roc.auc(w);
                double tp = 0, fn = 0, tn = 0, fp = 0;
                for (int i = 0; i < n; i++) {
                    boolean isPos = labels[i] == pos, saysPos = predicted[i] == pos;
                    if (isPos) {
                        tp += saysPos ? w[i] : 0;
                        fn += saysPos ? 0 : w[i];
                    } else {
                        fp += saysPos ? w[i] : 0;
                        tn += saysPos ? 0 : w[i];
                    }
                }
                dist.get("sensitivity")[b] = ratio(tp, tp + fn);
                dist.get("specificity")[b] = ratio(tn, tn + fp);
                dist.get("ppv")[b] = ratio(tp, tp + fp);
                dist.get("npv")[b] = ratio(tn, tn + fn);
                roc.tprAt(w, grid, tprs);
                for (int g = 0; g < BAND_POINTS; g++) {
                    band[g][b] = tprs[g];
                }
            } else if (macroAuc) {
                double sum = 0;
                int defined = 0;
                for (WeightedRoc roc : rocs) {
                    double a = roc.auc(w);
                    if (!Double.isNaN(a)) {
                        sum += a;
                        defined++;
                    }
                }
                dist.get("roc_auc")[b] = defined == 0 ? Double.NaN : sum / defined;
            }
        }
        Map<String, Interval> out = new LinkedHashMap<>();
        for (Map.Entry<String, double[]> e : dist.entrySet()) {
            double[] d = e.getValue();
            out.put(e.getKey(), new Interval(values.get(e.getKey()), Bootstrap.quantile(d, LOWER_Q), Bootstrap.quantile(d, UPPER_Q),
                    "bootstrap", Bootstrap.undefined(d)));
        }
        Interval delong = null;
        RocBand rocBand = null;
        if (bin != null) {
            double[] s = new double[n];
            boolean[] isPos = new boolean[n];
            for (int i = 0; i < n; i++) {
                s[i] = probs[i][pos];
                isPos[i] = labels[i] == pos;
            }
            DeLong d = DeLong.of(s, isPos);
            double[] ci = d.ci95();
            delong = new Interval(d.auc(), ci[0], ci[1], "delong", 0);
            if (!Double.isNaN(d.auc())) {
                double[] lo = new double[BAND_POINTS], hi = new double[BAND_POINTS];
                for (int g = 0; g < BAND_POINTS; g++) {
                    lo[g] = Bootstrap.quantile(band[g], LOWER_Q);
                    hi[g] = Bootstrap.quantile(band[g], UPPER_Q);
                }
                rocBand = new RocBand(grid, lo, hi);
            }
        }
        return new Uncertainty(resamples, seed, out, delong, rocBand);
    }

    private static double ratio(double a, double b) {
        return b == 0 ? Double.NaN : a / b;
    }

    /** JSON-ready: {name: {value, ci95: [lo, hi], method, undefined_resamples}}, DeLong's as roc_auc_delong. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("level", 0.95);
        m.put("bootstrap", Map.of("resamples", resamples, "seed", seed, "stratified_by", "class", "method", "percentile"));
        Map<String, Object> figures = new LinkedHashMap<>();
        for (Map.Entry<String, Interval> e : bootstrap.entrySet()) {
            figures.put(e.getKey(), intervalMap(e.getValue()));
        }
        if (delongAuc != null) {
            Map<String, Object> d = intervalMap(delongAuc);
            figures.put("roc_auc_delong", d);
        }
        m.put("metrics", figures);
        return m;
    }

    static Map<String, Object> intervalMap(Interval i) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("value", num(i.value()));
        m.put("ci95", ci(i));
        m.put("method", i.method());
        if (i.method().equals("bootstrap")) {
            m.put("undefined_resamples", i.undefinedResamples());
        }
        return m;
    }

    /** [lower, upper], or null when undefined. */
    static List<Double> ci(Interval i) {
        if (i == null || Double.isNaN(i.lower()) || Double.isNaN(i.upper())) {
            return null;
        }
        return List.of(i.lower(), i.upper());
    }

    private static Double num(double v) {
        return Double.isNaN(v) ? null : v;
    }
}
