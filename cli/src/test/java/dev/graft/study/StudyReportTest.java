package dev.graft.study;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The table, CSV and chart from fixed outcomes, against hand-computed means, stds and the paired t. */
class StudyReportTest {
    @Test
    void tableAndCsvHoldTheHandComputedFigures(@TempDir Path dir) throws IOException {
        StudyConfig.Dataset d = new StudyConfig.Dataset("set1", dir, null, null);
        StudyConfig.Architecture a = new StudyConfig.Architecture("net", null, dir.resolve("w"));
        StudyConfig.Architecture b = new StudyConfig.Architecture("cbr", "cbr_tiny", null);
        StudyConfig cfg = new StudyConfig(dir.resolve("study.yaml"), List.of(a, b), List.of("random", "pretrained"), List.of(d),
                List.of(1L, 2L, 3L), "auc", Map.of());
        double[] wt = {0.91, 0.88, 0.93};
        double[] ri = {0.80, 0.84, 0.79};
        List<StudyRunner.Outcome> outcomes = new ArrayList<>();
        for (int s = 0; s < 3; s++) {
            outcomes.add(new StudyRunner.Outcome(new StudyRunner.Cell(d, a, "random", s + 1, dir), ri[s], "test", "trained"));
            outcomes.add(new StudyRunner.Outcome(new StudyRunner.Cell(d, a, "pretrained", s + 1, dir), wt[s], "test", "trained"));
            outcomes.add(new StudyRunner.Outcome(new StudyRunner.Cell(d, b, "pretrained", s + 1, dir), Double.NaN, null, "n/a (no weights)"));
        }
        // cbr random: seeds 1 and 2 finished (0.70, 0.74), seed 3 failed -> mean 0.72, std sqrt(0.0008) = 0.028284.
        outcomes.add(new StudyRunner.Outcome(new StudyRunner.Cell(d, b, "random", 1, dir), 0.70, "test", "trained"));
        outcomes.add(new StudyRunner.Outcome(new StudyRunner.Cell(d, b, "random", 2, dir), 0.74, "test", "trained"));
        outcomes.add(new StudyRunner.Outcome(new StudyRunner.Cell(d, b, "random", 3, dir), Double.NaN, null, "failed, exit code 1"));
        StudyReport r = new StudyReport(cfg, outcomes);
        String md = r.markdown();
        // net: RI mean 0.81, std 0.026458 (numpy ddof=1); WT mean 0.906667, std 0.025166; t 3.2628, p 0.0825 (scipy ttest_rel).
        assertTrue(md.contains("| net | 0.8100 ± 0.0265 (n=3) | 0.9067 ± 0.0252 (n=3) |"), md);
        assertTrue(md.contains("| cbr | 0.7200 ± 0.0283 (n=2) | n/a |"), md);
        assertTrue(md.contains("| net | 3 | +0.0967 | 3.263 | 2 | 0.0825 |"), md);
        assertTrue(md.contains("ROC AUC on the test set"), md);
        assertTrue(md.contains("With n = 3 seeds"), md);
        assertEquals(1, r.comparisons().size()); // cbr has no WT values to pair
        String csv = r.csv();
        assertTrue(csv.contains("set1,net,random,auc,test,3,0.810000,0.026458,1 2 3,0.800000 0.840000 0.790000"), csv);
        assertTrue(csv.contains("set1,cbr,random,auc,test,2,0.720000,0.028284,1 2,0.700000 0.740000"), csv);
        assertTrue(csv.contains("set1,cbr,pretrained,auc,,0,,,,"), csv);
        r.write(dir);
        byte[] png = Files.readAllBytes(dir.resolve("study-set1.png"));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
        assertTrue(Files.readString(dir.resolve("study.json")).contains("\"p_two_sided\""));
    }
}
