package dev.graft.train;

import dev.graft.models.DecisionRule;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Properties of the bootstrap, DeLong and reliability code that hold whatever the data (numbers: StatisticsFixtureTest). */
class IntervalPropertiesTest {
    private static final List<String> TWO = List.of("normal", "pneumonia");

    /**
     * Under H0 (continuous scores, positives and negatives from one distribution) every placement of the m positives
     * among the m + n ranks is equally likely. Over all C(m + n, m) placements, exactly:
     * <ul>
     *   <li>the AUC has mean 1/2 and variance (m + n + 1) / (12 m n), the Mann-Whitney variance (U = mn AUC has
     *       variance mn(m + n + 1) / 12);</li>
     *   <li>DeLong's estimate has mean (m + n + 2) / (12 m n). By hand: psi has variance 1/4, two kernels sharing a
     *       positive or a negative have covariance 1/12 (P(x > y, x > y') = 1/3), so E[S10] = Var V10_i - Cov(V10_i,
     *       V10_i') = 1/(4n) + (n - 1)/(12n) - 1/(12n) = (n + 1)/(12n), likewise E[S01] = (m + 1)/(12m), and
     *       E[S10/m + S01/n] = (m + n + 2)/(12mn): DeLong over-estimates the exact variance by the factor
     *       (m + n + 2)/(m + n + 1), a known small bias.</li>
     * </ul>
     * Tolerance 1e-12: sums of at most 462 doubles.
     */
    @Test
    void deLongMatchesTheExactMannWhitneyVarianceUnderTheNullHypothesis() {
        for (int[] mn : new int[][] {{2, 2}, {2, 3}, {3, 3}, {3, 4}, {4, 5}, {5, 6}}) {
            int m = mn[0], n = mn[1], total = m + n;
            double sumAuc = 0, sumAuc2 = 0, sumVar = 0;
            int count = 0;
            for (int mask = 0; mask < 1 << total; mask++) {
                if (Integer.bitCount(mask) != m) {
                    continue;
                }
                double[] s = new double[total];
                boolean[] pos = new boolean[total];
                for (int i = 0; i < total; i++) {
                    s[i] = i;
                    pos[i] = (mask >> i & 1) == 1;
                }
                DeLong d = DeLong.of(s, pos);
                sumAuc += d.auc();
                sumAuc2 += d.auc() * d.auc();
                sumVar += d.variance();
                count++;
            }
            double meanAuc = sumAuc / count;
            String at = "m=" + m + ", n=" + n;
            assertEquals(0.5, meanAuc, 1e-12, at);
            assertEquals((m + n + 1) / (12.0 * m * n), sumAuc2 / count - meanAuc * meanAuc, 1e-12, at);
            assertEquals((m + n + 2) / (12.0 * m * n), sumVar / count, 1e-12, at);
        }
    }

    /** The midrank computation equals DeLong's definition through the m x n kernel matrix, ties included. */
    @Test
    void fastDeLongEqualsTheKernelDefinition() {
        Random r = new Random(3);
        for (int trial = 0; trial < 50; trial++) {
            int size = 4 + r.nextInt(40);
            double[] s = new double[size];
            boolean[] pos = new boolean[size];
            for (int i = 0; i < size; i++) {
                pos[i] = i < 2 || (i >= 4 && r.nextBoolean()); // at least two of each, for the sample variances
                s[i] = Math.round((r.nextGaussian() + (pos[i] ? 0.8 : 0)) * 4) / 4.0; // ties
            }
            int m = 0;
            for (boolean p : pos) {
                m += p ? 1 : 0;
            }
            int n = size - m;
            double[] v10 = new double[m], v01 = new double[n];
            int a = 0;
            for (int i = 0; i < size; i++) {
                if (!pos[i]) {
                    continue;
                }
                int b = 0;
                for (int j = 0; j < size; j++) {
                    if (pos[j]) {
                        continue;
                    }
                    double psi = s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                    v10[a] += psi / n;
                    v01[b] += psi / m;
                    b++;
                }
                a++;
            }
            DeLong d = DeLong.of(s, pos);
            assertEquals(mean(v10), d.auc(), 1e-12);
            assertEquals(var(v10) / m + var(v01) / n, d.variance(), 1e-12);
        }
    }

    @Test
    void deLongDegenerateCasesAreNaNOrAPoint() {
        assertTrue(Double.isNaN(DeLong.of(new double[] {0.1, 0.2}, new boolean[] {true, true}).auc()), "no negatives: no AUC");
        DeLong one = DeLong.of(new double[] {0.9, 0.1, 0.2}, new boolean[] {true, false, false});
        assertEquals(1.0, one.auc());
        assertTrue(Double.isNaN(one.variance()) && Double.isNaN(one.ci95()[0]), "one positive: no sample variance");
        DeLong perfect = DeLong.of(new double[] {0.9, 0.8, 0.1, 0.2}, new boolean[] {true, true, false, false});
        assertEquals(0.0, perfect.variance());
        assertArrayEquals(new double[] {1, 1}, perfect.ci95());
        DeLong wide = DeLong.of(new double[] {0.9, 0.1, 0.8, 0.2}, new boolean[] {true, true, false, false});
        double[] ci = wide.ci95();
        assertTrue(ci[0] >= 0 && ci[1] <= 1, "clipped to [0, 1]: " + ci[0] + ", " + ci[1]);
    }

    @Test
    void resamplesKeepClassCountsAndFollowTheSeed() {
        int[] labels = {0, 1, 1, 0, 2, 2, 2, 1, 0, 0};
        Bootstrap a = new Bootstrap(labels, 3, 42), b = new Bootstrap(labels, 3, 42), c = new Bootstrap(labels, 3, 43);
        boolean differs = false;
        for (int r = 0; r < 100; r++) {
            int[] w = a.next();
            assertArrayEquals(w, b.next(), "same seed, same resamples");
            differs |= !java.util.Arrays.equals(w, c.next());
            int[] perClass = new int[3];
            for (int i = 0; i < w.length; i++) {
                perClass[labels[i]] += w[i];
            }
            assertArrayEquals(new int[] {4, 3, 3}, perClass, "class counts of resample " + r);
        }
        assertTrue(differs, "another seed, other resamples");
    }

    @Test
    void quantileInterpolatesAsNumpyAndSkipsUndefinedValues() {
        // np.quantile([1, 2, 3, 4], 0.25) = 1.75; [.., 0.975] = 3.925; NaN left out.
        assertEquals(1.75, Bootstrap.quantile(new double[] {4, Double.NaN, 2, 1, 3}, 0.25), 1e-15);
        assertEquals(3.925, Bootstrap.quantile(new double[] {4, 2, 1, 3}, 0.975), 1e-15);
        assertTrue(Double.isNaN(Bootstrap.quantile(new double[] {Double.NaN}, 0.5)));
        assertEquals(1, Bootstrap.undefined(new double[] {4, Double.NaN, 2}));
    }

    /**
     * With class-stratified resamples, sensitivity's bootstrap distribution is Binomial(P, sens)/P, whose median is
     * exactly sens (P sens = TP is a whole number), and likewise specificity; accuracy and AUC have means equal to the
     * estimate. So the 95% interval contains the estimate except with negligible probability; 40 random sets.
     */
    @Test
    void intervalsContainTheirPointEstimates() {
        Random r = new Random(11);
        for (int trial = 0; trial < 40; trial++) {
            int n = 40 + r.nextInt(80);
            double[][] probs = new double[n][];
            int[] y = new int[n];
            for (int i = 0; i < n; i++) {
                y[i] = i < 15 ? 1 : i < 30 ? 0 : r.nextInt(2);
                double p = 1 / (1 + Math.exp(-(r.nextGaussian() * 1.5 + (y[i] == 1 ? 1 : -1))));
                probs[i] = new double[] {1 - p, p};
            }
            Metrics m = Metrics.compute(probs, y, DecisionRule.of(TWO, 1, 0.5, "test"), 400, trial);
            for (String k : List.of("roc_auc", "accuracy", "sensitivity", "specificity")) {
                Uncertainty.Interval i = m.uncertainty().bootstrap().get(k);
                assertTrue(i.lower() <= i.value() && i.value() <= i.upper(), k + " " + i);
            }
            for (Uncertainty.Interval i : m.uncertainty().bootstrap().values()) {
                assertTrue(Double.isNaN(i.lower()) || (0 <= i.lower() && i.lower() <= i.upper() && i.upper() <= 1), i.toString());
            }
            Uncertainty.RocBand band = m.uncertainty().rocBand();
            for (int g = 0; g < band.fpr().length; g++) {
                assertTrue(band.lower()[g] <= band.upper()[g] && band.lower()[g] >= 0 && band.upper()[g] <= 1);
                if (g > 0) {
                    assertTrue(band.lower()[g] >= band.lower()[g - 1] && band.upper()[g] >= band.upper()[g - 1], "band rises with the FPR");
                }
            }
            assertEquals(1.0, band.lower()[band.fpr().length - 1], 1e-12);
        }
    }

    @Test
    void perfectSeparationGivesPointIntervalsAndUndefinedFiguresAreCounted() {
        double[][] probs = {{0.9, 0.1}, {0.8, 0.2}, {0.7, 0.3}, {0.2, 0.8}, {0.1, 0.9}};
        int[] y = {0, 0, 0, 1, 1};
        Metrics m = Metrics.compute(probs, y, DecisionRule.of(TWO, 1, 0.5, "test"), 100, 0);
        Uncertainty.Interval auc = m.uncertainty().bootstrap().get("roc_auc");
        assertEquals(List.of(1.0, 1.0), List.of(auc.lower(), auc.upper()));
        assertArrayEquals(new double[] {1, 1}, new double[] {m.uncertainty().delongAuc().lower(), m.uncertainty().delongAuc().upper()});
        // A threshold of 1: nothing is called positive, so PPV is undefined in every resample.
        Metrics none = Metrics.compute(probs, y, DecisionRule.of(TWO, 1, 1.0, "test"), 100, 0);
        Uncertainty.Interval ppv = none.uncertainty().bootstrap().get("ppv");
        assertTrue(Double.isNaN(ppv.value()) && Double.isNaN(ppv.lower()));
        assertEquals(100, ppv.undefinedResamples());
        @SuppressWarnings("unchecked")
        Map<String, Object> binary = (Map<String, Object>) none.toMap().get("binary");
        assertTrue(binary.containsKey("ppv_ci95") && binary.get("ppv_ci95") == null, "an undefined interval is null in JSON");
    }

    /** A set without positives: AUC, sensitivity and DeLong undefined; null in JSON, no empty brackets on the terminal. */
    @Test
    void aSetWithOneClassHasUndefinedIntervalsNotErrors() {
        double[][] probs = {{0.9, 0.1}, {0.6, 0.4}, {0.3, 0.7}};
        Metrics m = Metrics.compute(probs, new int[] {0, 0, 0}, DecisionRule.of(TWO, 1, 0.5, "test"), 100, 0);
        Map<String, Object> json = m.toMap();
        assertTrue(json.containsKey("roc_auc_ci95") && json.get("roc_auc_ci95") == null);
        assertNull(json.get("roc_auc_delong_ci95"));
        assertNull(m.uncertainty().rocBand());
        assertEquals(100, m.uncertainty().bootstrap().get("sensitivity").undefinedResamples());
        String table = Report.table(m);
        assertFalse(table.contains("n/a ["), table);
        assertFalse(table.contains("DeLong"), table);
        assertTrue(table.contains("66.7% ["), "accuracy and specificity (2/3) have intervals: " + table);
    }

    @Test
    void metricsJsonKeepsItsKeysAndAddsIntervalsAndCalibration() {
        double[][] probs = {{0.9, 0.1}, {0.6, 0.4}, {0.7, 0.3}, {0.2, 0.8}, {0.45, 0.55}, {0.3, 0.7}};
        int[] y = {0, 0, 1, 1, 0, 1};
        Map<String, Object> plain = Metrics.compute(probs, y, DecisionRule.of(TWO, 1, 0.5, "test")).toMap();
        assertTrue(plain.get("accuracy") instanceof Double && plain.get("roc_auc") instanceof Double);
        assertFalse(plain.containsKey("confidence_intervals"), "no resamples asked, no intervals");
        assertTrue(plain.containsKey("calibration"));
        Map<String, Object> withCi = Metrics.compute(probs, y, DecisionRule.of(TWO, 1, 0.5, "test"), 50, 1).toMap();
        assertEquals(plain.get("accuracy"), withCi.get("accuracy"));
        assertEquals(plain.get("roc_auc"), withCi.get("roc_auc"));
        assertTrue(withCi.get("roc_auc_ci95") instanceof List<?> l && l.size() == 2);
        assertTrue(withCi.get("roc_auc_delong_ci95") instanceof List<?>);
        assertTrue(withCi.get("confidence_intervals") instanceof Map<?, ?>);
    }

    /** 100 classes, 101 images, 100,000 resamples: over the work budget, so the macro AUC gets no interval; accuracy does. */
    @Test
    void theMacroAucIntervalIsLeftOutBeyondItsWorkBudget() {
        int c = 100, n = 101;
        List<String> classes = new java.util.ArrayList<>();
        for (int k = 0; k < c; k++) {
            classes.add("c" + k);
        }
        double[][] probs = new double[n][c];
        int[] y = new int[n];
        Random r = new Random(1);
        for (int i = 0; i < n; i++) {
            y[i] = i % c;
            for (int k = 0; k < c; k++) {
                probs[i][k] = 1.0 / c + (k == y[i] ? 0.001 * r.nextDouble() : 0);
            }
        }
        Metrics m = Metrics.compute(probs, y, DecisionRule.argmax(classes), Bootstrap.MAX_RESAMPLES, 0);
        assertFalse(m.uncertainty().bootstrap().containsKey("roc_auc"));
        assertTrue(m.uncertainty().bootstrap().containsKey("accuracy"));
        assertFalse(m.toMap().containsKey("roc_auc_ci95"));
        Metrics small = Metrics.compute(probs, y, DecisionRule.argmax(classes), 50, 0);
        assertTrue(small.uncertainty().bootstrap().containsKey("roc_auc"), "within the budget");
    }

    /** Bins of scikit-learn's uniform calibration_curve: [0, 0.1], (0.1, 0.2], ..., (0.9, 1]. */
    @Test
    void reliabilityBinsAndEceByHand() {
        assertEquals(0, Reliability.bin(0.0));
        assertEquals(0, Reliability.bin(0.1));
        assertEquals(1, Reliability.bin(Math.nextUp(0.1)));
        assertEquals(9, Reliability.bin(1.0));
        assertEquals(9, Reliability.bin(0.95));
        // P(positive) 0.05 (neg), 0.15 (neg), 0.15 (pos), 0.95 (pos): bins 0, 1, 1, 9.
        // ECE = 1/4 |0.05 - 0| + 2/4 |0.15 - 0.5| + 1/4 |0.95 - 1| = 0.0125 + 0.175 + 0.0125 = 0.2
        double[][] probs = {{0.95, 0.05}, {0.85, 0.15}, {0.85, 0.15}, {0.05, 0.95}};
        Reliability r = Reliability.compute(probs, new int[] {0, 0, 1, 1}, 1, TWO);
        assertEquals(0.2, r.ece(), 1e-12);
        assertEquals(2, r.bins().get(1).count());
        assertEquals(0.5, r.bins().get(1).observedFrequency(), 1e-12);
        assertTrue(Double.isNaN(r.bins().get(5).meanProbability()));
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double d : v) {
            s += d;
        }
        return s / v.length;
    }

    private static double var(double[] v) {
        double mu = mean(v), s = 0;
        for (double d : v) {
            s += (d - mu) * (d - mu);
        }
        return s / (v.length - 1);
    }
}
