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

    @Test
    void underflowedProbabilitiesGiveFiniteLogits() {
        double[][] z = TemperatureScaling.logits(new double[][] {{1.0, 0.0}});
        assertTrue(Double.isFinite(z[0][1]) && z[0][1] < -700);
    }
}
