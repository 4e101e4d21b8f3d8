package dev.graft.train;

import dev.graft.models.DecisionRule;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The two accuracies a two-class run has, each under its own name: argmax (the epoch lines, fastai's accuracy) and
 * at the chosen threshold (the decision rule predict applies). Expected values are counted by hand in comments.
 */
class AccuracyNamingTest {
    private static final List<String> TWO = List.of("normal", "pneumonia");
    // P(pneumonia) = 0.1, 0.4, 0.7, 0.55, 0.8 with labels 0, 1, 1, 0, 1.
    private static final double[][] PROBS = {{0.9, 0.1}, {0.6, 0.4}, {0.3, 0.7}, {0.45, 0.55}, {0.2, 0.8}};
    private static final int[] LABELS = {0, 1, 1, 0, 1};

    @Test
    void aThresholdGivesBothAccuraciesEachNamed() {
        // argmax decides 0, 0, 1, 1, 1: right on images 0, 2, 4 -> 3/5.
        // P >= 0.35 decides 0, 1, 1, 1, 1: right on images 0, 1, 2, 4 -> 4/5.
        Metrics m = Metrics.compute(PROBS, LABELS, DecisionRule.of(TWO, 1, 0.35, "test"));
        assertEquals(0.6, m.argmaxAccuracy(), 1e-12);
        assertEquals(0.8, m.accuracy(), 1e-12);
        assertEquals(0.6, (Double) m.toMap().get("accuracy_argmax"), 1e-12);
        assertEquals(0.8, (Double) m.toMap().get("accuracy"), 1e-12, "the existing key keeps its meaning");
        String table = Report.table(m);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("accuracy (argmax) ") && l.endsWith("60.0%")), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("accuracy at threshold 0.3500 ") && l.endsWith("80.0%")), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("balanced accuracy at threshold 0.3500 ")), table);
        assertFalse(table.lines().anyMatch(l -> l.startsWith("accuracy ") && !l.startsWith("accuracy (argmax)")
                && !l.startsWith("accuracy at threshold")), "no accuracy without its name: " + table);
    }

    @Test
    void argmaxGivesOneAccuracyNamedArgmax() {
        Metrics m = Metrics.compute(PROBS, LABELS, DecisionRule.argmax(TWO));
        assertEquals(0.6, m.accuracy(), 1e-12);
        assertEquals(m.accuracy(), m.argmaxAccuracy(), 0);
        String table = Report.table(m);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("accuracy (argmax) ") && l.endsWith("60.0%")), table);
        assertFalse(table.contains("at threshold"), table);
    }

    @Test
    void ratesReadAsNumbersPeopleWrite() {
        assertEquals("?", Progress.rate(0));
        assertEquals("?", Progress.rate(Double.NaN));
        assertEquals("?", Progress.rate(Double.POSITIVE_INFINITY));
        assertEquals("0.7", Progress.rate(0.7));
        assertEquals("0.042", Progress.rate(0.042));
        assertEquals("2.1", Progress.rate(2.1));
        assertEquals("10", Progress.rate(9.96));
        assertEquals("36", Progress.rate(36.0));
        assertEquals("1250", Progress.rate(1250.4));
    }
}
