package dev.graft.train;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The range test's arithmetic against closed forms, a hand computation and a numpy transcription of fastai's readers. */
class LrSweepTest {
    @Test
    void ratesAreTheGeometricClosedForm() {
        // 1e-7 to 10 in 9 steps: a ratio of 1e8 over 8 intervals, so exactly one decade per step.
        double[] decades = LrSweep.rates(1e-7, 10, 9);
        for (int i = 0; i < 9; i++) {
            // exp/log rounding: a few ulps (1e-13 relative is ~500 ulps, far below any visible difference)
            assertEquals(Math.pow(10, i - 7), decades[i], Math.pow(10, i - 7) * 1e-13, "step " + i);
        }
        double[] r = LrSweep.rates(3e-6, 0.7, 100);
        for (int i = 0; i < 100; i++) {
            double closed = 3e-6 * Math.pow(0.7 / 3e-6, i / 99.0);
            assertEquals(closed, r[i], closed * 1e-13, "step " + i);
            if (i > 0) {
                assertTrue(r[i] > r[i - 1], "increasing at " + i);
            }
        }
        assertEquals(0.7, r[99], 0.0, "the last rate is --end-lr exactly");
    }

    @Test
    void smoothingIsTheDebiasedMovingAverage() {
        // By hand, beta 0.5: a0 = 0.5*1 = 0.5, /(1-0.5) = 1;  a1 = 0.25 + 0.5*2 = 1.25, /(1-0.25) = 5/3;
        // a2 = 0.625 + 0.5*3 = 2.125, /(1-0.125) = 17/7.
        assertArrayEquals(new double[] {1, 5.0 / 3, 17.0 / 7}, LrSweep.smooth(new double[] {1, 2, 3}, 0.5), 1e-15);
        // Debiasing makes a constant series its own average from the first step on, with fastai's beta too.
        double[] flat = LrSweep.smooth(new double[] {2.5, 2.5, 2.5, 2.5, 2.5}, LrSweep.BETA);
        for (double v : flat) {
            assertEquals(2.5, v, 1e-12);
        }
    }

    /** Expected values from /usr/bin/python3: fastai 2.7's valley/steep/minimum transcribed into numpy (see the commit). */
    @Test
    void readersMatchFastaisDefinitions() {
        double[] loss = {3.0, 2.9, 3.1, 2.5, 2.6, 2.0, 2.2, 1.5, 1.4, 1.6, 0.6, 0.5, 1.2, 2.0, 4.0};
        double[] lrs = new double[loss.length];
        for (int i = 0; i < lrs.length; i++) {
            lrs[i] = Math.pow(10, i - 7);
        }
        // Longest decreasing run 3.0 2.9 2.5 2.0 1.5 1.4 0.6 0.5 ends at 11 with length 8: start 3, 3 + 2 + 1 = 6.
        assertEquals(6, LrSweep.valley(lrs, loss, 0, loss.length).index());
        assertEquals(9, LrSweep.steepest(lrs, loss, 0, loss.length).index()); // 1.6 -> 0.6, the largest drop per decade
        LrSweep.Suggestion min = LrSweep.minimumOverTen(lrs, loss, 0, loss.length);
        assertEquals(1e4 / 10, min.lr(), 1e-9); // lowest loss 0.5 at lr 1e4
        assertEquals(10, min.index(), "drawn at the point nearest lr_min/10");
    }

    @Test
    void suggestionsOnANoisyCurveTrimmedAsFastaiDoes() {
        // Raw losses of a noisy descend-then-diverge curve over 40 steps from 1e-7 to 10 (numpy, seed 5); fastai reads
        // smoothed[4:35]: valley and steep at index 22 (lr 3.2570206556597828e-3), minimum/10 9.426684551178853e-2 (lowest smoothed loss at index 34).
        double[] raw = {1.9598353319342738, 1.9336683323704575, 1.9873920203257802, 2.0207051591765777, 2.0562728417149865,
            2.004601291994279, 1.9708918945714966, 1.9582981285163104, 2.033328855184706, 2.0748906573895183, 2.0022363667588894,
            1.919388650091078, 1.9207143008228644, 2.028333160950639, 1.9258055497131077, 1.7776614258916843, 1.7821004925509143,
            1.6160368228771584, 1.4935673005785965, 1.3212301830366249, 1.1187038572179206, 1.00263721823599, 0.8226475798543398,
            0.6842431349066043, 0.6562137233141921, 0.6258313376653887, 0.46951662492903296, 0.5185359325870564, 0.46990754890518277,
            0.5027443107902452, 0.4423775574207177, 0.5051429530539029, 0.5128959828378422, 0.7037144731555425, 1.1235370123804935,
            1.8658284496481694, 2.7933837937365906, 3.995052735420954, 5.541431899934639, 7.194600599908485};
        double[] lrs = LrSweep.rates(1e-7, 10, 40);
        double[] s = LrSweep.smooth(raw, LrSweep.BETA);
        assertEquals(1.94661967558891, s[1], 1e-13); // numpy's value for the second smoothed point
        List<LrSweep.Suggestion> g = LrSweep.suggest(lrs, s, 40);
        assertEquals(List.of("valley", "steepest", "minimum/10"), g.stream().map(LrSweep.Suggestion::method).toList());
        assertEquals(22, g.get(0).index());
        assertEquals(3.2570206556597828e-3, g.get(0).lr(), 1e-15);
        assertEquals(22, g.get(1).index());
        assertEquals(9.426684551178853e-2, g.get(2).lr(), 1e-15);
        for (LrSweep.Suggestion x : g) {
            assertTrue(x.lr() >= lrs[0] && x.lr() <= lrs[39], x + " lies within the swept range");
        }
    }

    @Test
    void tooShortCurvesAreReadWholeOrNotAtAll() {
        assertTrue(LrSweep.suggest(new double[] {1e-3}, new double[] {1}, 100).isEmpty());
        // 3 points of a planned 100: too few to trim 10 and 5, so all three are read.
        List<LrSweep.Suggestion> g = LrSweep.suggest(new double[] {1e-3, 1e-2, 1e-1}, new double[] {3, 1, 2}, 100);
        assertEquals(1e-3, g.get(1).lr(), 0.0, "steepest: the left point of the 3 -> 1 step");
        assertEquals(1e-2 / 10, g.get(2).lr(), 1e-18, "minimum/10: the lowest loss is at 1e-2");
    }
}
