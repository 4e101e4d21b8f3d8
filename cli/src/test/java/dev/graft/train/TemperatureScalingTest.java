package dev.graft.train;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Properties of the temperature fit (its numbers against scipy: StatisticsFixtureTest). */
class TemperatureScalingTest {

    private static double[][] logits(Random r, int[] y, int classes, double margin, double scale) {
        double[][] z = new double[y.length][classes];
        for (int i = 0; i < y.length; i++) {
            y[i] = r.nextInt(classes);
            for (int k = 0; k < classes; k++) {
                z[i][k] = scale * (r.nextGaussian() + (k == y[i] ? margin : 0));
            }
        }
        return z;
    }

    /**
     * softmax((k z) / (k T)) = softmax(z / T), so the fit on k z is k times the fit on z; and a per-row shift changes
     * nothing. Relative 1e-9: both fits converge to the root of the same derivative, to about 1e-14 in 1/T.
     */
    @Test
    void fitScalesWithTheLogitsAndIgnoresPerRowShifts() {
        Random r = new Random(5);
        int[] y = new int[200];
        double[][] z = logits(r, y, 3, 1.0, 2.0);
        double t = TemperatureScaling.fit(z, y).temperature();
        double[][] scaled = new double[z.length][], shifted = new double[z.length][];
        for (int i = 0; i < z.length; i++) {
            scaled[i] = new double[3];
            shifted[i] = new double[3];
            double shift = r.nextGaussian() * 50;
            for (int k = 0; k < 3; k++) {
                scaled[i][k] = 1.7 * z[i][k];
                shifted[i][k] = z[i][k] + shift;
            }
        }
        assertEquals(1.7 * t, TemperatureScaling.fit(scaled, y).temperature(), 1e-9 * t);
        assertEquals(t, TemperatureScaling.fit(shifted, y).temperature(), 1e-9 * t);
    }

    @Test
    void overConfidentLogitsGetTAboveOneAndALowerNll() {
        Random r = new Random(9);
        int[] y = new int[300];
        double[][] z = logits(r, y, 2, 0.8, 4.0);
        TemperatureScaling.Fit fit = TemperatureScaling.fit(z, y);
        assertTrue(fit.temperature() > 1.5, "T " + fit.temperature());
        assertTrue(fit.nllAfter() < fit.nllBefore());
        // The minimum: the NLL is higher a little either side.
        assertTrue(TemperatureScaling.meanNll(z, y, fit.temperature() * 1.01) > fit.nllAfter());
        assertTrue(TemperatureScaling.meanNll(z, y, fit.temperature() * 0.99) > fit.nllAfter());
    }

    @Test
    void aPerfectlySeparatedSetStopsAtTheLowerBound() {
        double[][] z = {{2, 0}, {0, 2}, {3, 1}, {1, 4}};
        int[] y = {0, 1, 0, 1};
        TemperatureScaling.Fit fit = TemperatureScaling.fit(z, y);
        assertTrue(fit.atBound());
        assertEquals(dev.graft.models.Temperature.MIN, fit.temperature(), 1e-15);
    }

    /** Training's use of a fit on the bound: reported, warned about, not applied (the file keeps T = 1). */
    @Test
    void trainingDoesNotApplyAFitOnTheBound() {
        TrainConfig cfg = new TrainConfig("data", null, 0.2, null, null, "runs/x", 224, 256, 32, 1, 3, 2e-3, 100, "adamw", 0.9, 0.01, false,
                "onecycle", 0, "none", 0, 0, "hold", null, "default", "shuffle", 0, 2, "auto", "loss", "youden", null, false,
                null, false, true);
        RunData data = new RunData(java.util.List.of("a", "b"), java.util.List.of(), java.util.List.of(), 1);
        Predictions separated = new Predictions(new double[][] {{0.9, 0.1}, {0.2, 0.8}, {0.7, 0.3}, {0.4, 0.6}}, new int[] {0, 1, 0, 1},
                new int[] {0, 1, 2, 3}, 0.3);
        java.util.List<String> warnings = new java.util.ArrayList<>();
        Trainer.Options opt = new Trainer.Options(false, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()), warnings::add, 0);
        // The network and loader are not needed: nothing is predicted again when the fit is not applied.
        Report.Calibrated c = Report.calibrated(cfg, data, null, null, 3, opt, "best model", separated);
        assertTrue(Double.isNaN(c.temperature()), "not applied");
        assertTrue(c.fit().atBound());
        assertEquals(separated, c.predictions());
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("not applied") && warnings.get(0).contains("T = 1"), warnings.get(0));
        assertEquals(false, c.toMap().get("applied"));
        assertTrue(c.describe().contains("not applied"), c.describe());
    }

    @Test
    void underflowedProbabilitiesGiveFiniteLogits() {
        double[][] z = TemperatureScaling.logits(new double[][] {{1.0, 0.0}});
        assertTrue(Double.isFinite(z[0][1]) && z[0][1] < -700);
    }
}
