package dev.graft.train;

import dev.graft.loaders.labels.LabeledImage;
import dev.graft.loaders.labels.LabeledSet;
import dev.graft.models.DecisionRule;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-label metrics, thresholds and positive weights, worked by hand. */
class MultiLabelMetricsTest {
    private static final float NAN = Float.NaN;
    private static final List<String> LABELS = List.of("a", "b");
    /** Label a: known (0.9 +) (0.4 +) (0.5 -) (0.1 -) (0.3 -), image 4 unknown; label b: no positive. */
    private static final double[][] PROBS = {{0.9, 0.2}, {0.4, 0.3}, {0.5, 0.1}, {0.1, 0.6}, {0.99, 0.5}, {0.3, 0.4}};
    private static final float[][] TARGETS = {{1, 0}, {1, 0}, {0, NAN}, {0, 0}, {NAN, 0}, {0, 0}};

    /**
     * Label a's AUC: of the 2 x 3 positive-negative pairs, 0.9 beats all three negatives and 0.4 beats 0.1 and 0.3: 5/6.
     * Its ROC points (threshold: tpr, fpr) 0.9: 1/2, 0; 0.5: 1/2, 1/3; 0.4: 1, 1/3; 0.3: 1, 2/3; 0.1: 1, 1 give
     * Youden's J its maximum 2/3 at 0.4. Label b has no positive: no AUC, threshold 0.5, out of the mean.
     */
    @Test
    void perLabelFiguresByHand() {
        DecisionRule.PerLabel youden = MultiLabelMetrics.chooseThresholds("youden", PROBS, TARGETS, LABELS);
        assertArrayEquals(new double[] {0.4, 0.5}, youden.thresholds());
        assertArrayEquals(new double[] {0.4, 0.5}, MultiLabelMetrics.chooseThresholds("sensitivity:1.0", PROBS, TARGETS, LABELS).thresholds());
        assertArrayEquals(new double[] {0.3, 0.3}, MultiLabelMetrics.chooseThresholds("0.3", PROBS, TARGETS, LABELS).thresholds());

        // At 0.45: label a calls 0.9 positive (sensitivity 1/2) and 0.1, 0.3 negative (specificity 2/3).
        MultiLabelMetrics m = MultiLabelMetrics.compute(PROBS, TARGETS, new DecisionRule.PerLabel(LABELS, new double[] {0.45, 0.5}));
        MultiLabelMetrics.Row a = m.rows().get(0);
        assertEquals(5.0 / 6, a.auc(), 1e-15);
        assertEquals(0.5, a.sensitivity(), 1e-15);
        assertEquals(2.0 / 3, a.specificity(), 1e-15);
        assertEquals(2, a.positives());
        assertEquals(5, a.known());
        MultiLabelMetrics.Row b = m.rows().get(1);
        assertTrue(Double.isNaN(b.auc()) && Double.isNaN(b.sensitivity()));
        assertEquals(3.0 / 5, b.specificity(), 1e-15, "0.6 and 0.5 of the five known negatives are at or above 0.5");
        assertEquals(5, b.known());
        assertEquals(1, m.labelsInMean());
        assertEquals(5.0 / 6, m.meanAuc(), 1e-15);
        assertEquals(5.0 / 6, MultiLabelMetrics.meanAuc(PROBS, TARGETS, 2), 1e-15);
        String table = m.table();
        assertTrue(table.contains("mean (1 of 2 labels)") && table.contains("n/a") && table.contains("2/5"), table);
    }

    /** auto: negatives / positives over known targets (a: 1 positive, 3 negatives -> 3); no positive -> 1. */
    @Test
    void autoPositiveWeights() {
        LabeledSet set = new LabeledSet(LABELS, List.of(
                image(1, 0), image(0, 0), image(0, NAN), image(0, 0), image(NAN, 0)), "by hand");
        assertArrayEquals(new float[] {3, 1}, MultiLabelRun.posWeights(set, "auto"));
        assertArrayEquals(new float[] {2, 0.5f}, MultiLabelRun.posWeights(set, "2,0.5"));
        assertNull(MultiLabelRun.posWeights(set, "none"));
        assertThrows(TrainingException.class, () -> MultiLabelRun.posWeights(set, "1,2,3"));
    }

    private static LabeledImage image(float a, float b) {
        return new LabeledImage(Path.of("x.png"), new float[] {a, b}, null, "by hand");
    }
}
