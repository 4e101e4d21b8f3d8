package dev.graft.study;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Mean, sample std and the paired t-test against values scipy 1.10.1 computed (scripts in the comments). */
class StudyStatsTest {
    @Test
    void twoSidedPMatchesScipy() {
        // /usr/bin/python3: from scipy import stats; 2 * stats.t.sf(abs(t), df)
        double[][] cases = {
            {2.0, 2, 0.1835034190722739},
            {0.5, 1, 0.7048327646991336},
            {3.0, 4, 0.03994196807171883},
            {-1.7, 9, 0.12334766214382395},
            {10.0, 2, 0.009852457023325692},
            {0.0, 5, 1.0},
            {1.2, 30, 0.23953035088966235},
        };
        for (double[] c : cases) {
            // 1e-12 relative: double-precision continued fraction and Lanczos ln Gamma, well inside what a p-value needs.
            assertEquals(c[2], StudyStats.twoSidedP(c[0], c[1]), 1e-12 * c[2] + 1e-15, "t=" + c[0] + " df=" + c[1]);
        }
    }

    @Test
    void pairedTestMatchesScipyTtestRel() {
        // wt=[0.91,0.88,0.93], ri=[0.80,0.84,0.79]; scipy.stats.ttest_rel(wt, ri) -> t 3.262754912685471, p 0.08248060410591757.
        // By hand: d = [0.11, 0.04, 0.14], mean 0.09666..., sd = sqrt(((0.01333)^2 + (0.05667)^2 + (0.04333)^2) / 2) = 0.05131,
        // t = 0.09667 / (0.05131 / sqrt 3) = 3.2628.
        StudyStats.PairedT t = StudyStats.pairedT(new double[] {0.91, 0.88, 0.93}, new double[] {0.80, 0.84, 0.79});
        assertEquals(3, t.n());
        assertEquals(2, t.df());
        assertEquals(0.09666666666666668, t.meanDifference(), 1e-12);
        assertEquals(3.262754912685471, t.t(), 1e-9);
        assertEquals(0.08248060410591757, t.p(), 1e-10);
    }

    @Test
    void meanAndStdMatchNumpy() {
        // numpy: wt.mean() 0.9066666666666667, wt.std(ddof=1) 0.025166114784235857
        assertEquals(0.9066666666666667, StudyStats.mean(new double[] {0.91, 0.88, 0.93}), 1e-15);
        assertEquals(0.025166114784235857, StudyStats.std(new double[] {0.91, 0.88, 0.93}), 1e-12);
        assertTrue(Double.isNaN(StudyStats.std(new double[] {0.5})));
    }

    @Test
    void undefinedCasesGiveNaNNotInfinity() {
        StudyStats.PairedT same = StudyStats.pairedT(new double[] {0.9, 0.8}, new double[] {0.8, 0.7}); // constant difference
        assertTrue(Double.isNaN(same.t()) && Double.isNaN(same.p()));
        StudyStats.PairedT one = StudyStats.pairedT(new double[] {0.9}, new double[] {0.8});
        assertTrue(Double.isNaN(one.p()));
        assertEquals(0.1, one.meanDifference(), 1e-12);
    }
}
