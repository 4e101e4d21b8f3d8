package dev.graft.train;

import dev.graft.models.DecisionRule;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsTest {

    /** AUC by brute force over every (positive, negative) pair, ties counting half: an independent oracle. */
    private static double pairwiseAuc(double[] s, boolean[] pos) {
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < s.length; i++) {
            for (int j = 0; j < s.length; j++) {
                if (pos[i] && !pos[j]) {
                    wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                    pairs++;
                }
            }
        }
        return wins / pairs;
    }

    @Property(tries = 200)
    void rocAucEqualsThePairwiseProbability(@ForAll @IntRange(min = 2, max = 60) int n, @ForAll @IntRange(min = 1, max = 6) int levels,
                                            @ForAll long seed) {
        Random r = new Random(seed);
        double[] s = new double[n];
        boolean[] pos = new boolean[n];
        pos[0] = true;
        for (int i = 0; i < n; i++) {
            s[i] = r.nextInt(levels) / (double) levels; // few levels: many ties
            if (i > 1) {
                pos[i] = r.nextBoolean();
            }
        }
        assertEquals(pairwiseAuc(s, pos), Roc.of(s, pos).auc(), 1e-12);
    }

    @Property(tries = 100)
    void sensitivityThresholdReachesTheTarget(@ForAll @Size(min = 4, max = 40) List<@IntRange(min = 0, max = 20) Integer> raw,
                                              @ForAll long seed) {
        Random r = new Random(seed);
        double[] s = new double[raw.size()];
        boolean[] pos = new boolean[raw.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = raw.get(i) / 20.0;
            pos[i] = i == 0 || r.nextBoolean();
        }
        Roc roc = Roc.of(s, pos);
        double t = roc.thresholdForSensitivity(0.8);
        int tp = 0, p = 0;
        for (int i = 0; i < s.length; i++) {
            if (pos[i]) {
                p++;
                tp += s[i] >= t ? 1 : 0;
            }
        }
        assertTrue(tp / (double) p >= 0.8 - 1e-12);
        // and it is the largest such threshold: the next distinct score above t misses the target.
        double above = Double.POSITIVE_INFINITY;
        for (double v : s) {
            if (v > t && v < above) {
                above = v;
            }
        }
        if (above != Double.POSITIVE_INFINITY) {
            int tp2 = 0;
            for (int i = 0; i < s.length; i++) {
                tp2 += pos[i] && s[i] >= above ? 1 : 0;
            }
            assertTrue(tp2 / (double) p < 0.8);
        }
    }

    @net.jqwik.api.Example
    void handComputedBinaryExample() {
        // labels: 0 = normal, 1 = pneumonia (positive). Probabilities of class 1:
        double[] p1 = {0.9, 0.8, 0.3, 0.6, 0.2, 0.1, 0.7, 0.4};
        int[] y = {1, 1, 1, 0, 0, 0, 1, 0};
        double[][] probs = new double[8][];
        for (int i = 0; i < 8; i++) {
            probs[i] = new double[] {1 - p1[i], p1[i]};
        }
        Metrics m = Metrics.compute(probs, y, new DecisionRule(List.of("normal", "pneumonia"), 1, 0.5));
        // predicted positive: 0.9, 0.8, 0.6, 0.7 -> TP 3 (0.9, 0.8, 0.7), FP 1 (0.6), FN 1 (0.3), TN 3
        assertArrayEquals(new int[][] {{3, 1}, {1, 3}}, m.confusion());
        assertEquals(0.75, m.accuracy(), 1e-12);
        assertEquals(0.75, m.binary().sensitivity(), 1e-12);
        assertEquals(0.75, m.binary().specificity(), 1e-12);
        assertEquals(0.75, m.binary().ppv(), 1e-12);
        assertEquals(0.75, m.binary().npv(), 1e-12);
        // pairs (pos, neg): pos {0.9, 0.8, 0.3, 0.7} vs neg {0.6, 0.2, 0.1, 0.4}: 0.3 beats 2, the others beat 4 -> 14/16
        assertEquals(14 / 16.0, m.macroAucOneVsRest(), 1e-12);
        // J at 0.7: sensitivity 3/4, false-positive rate 0 -> 0.75, the maximum (at 0.6 it drops to 0.5).
        assertEquals(0.7, m.binary().roc().youdenThreshold(), 1e-12);
    }

    @net.jqwik.api.Example
    void balancedAccuracyAveragesRecallOverPresentClasses() {
        double[][] probs = {{0.8, 0.1, 0.1}, {0.8, 0.1, 0.1}, {0.8, 0.1, 0.1}, {0.1, 0.8, 0.1}, {0.8, 0.1, 0.1}};
        int[] y = {0, 0, 0, 1, 1};
        Metrics m = Metrics.compute(probs, y, DecisionRule.argmax(List.of("a", "b", "c")));
        assertEquals(0.8, m.accuracy(), 1e-12);
        assertEquals((1.0 + 0.5) / 2, m.balancedAccuracy(), 1e-12);
        assertTrue(Double.isNaN(m.recall()[2]));
    }
}
