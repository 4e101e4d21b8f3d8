package dev.graft.train;

import dev.graft.loaders.labels.LabeledImage;
import dev.graft.loaders.labels.LabeledSet;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Patient-level splits and leakage checks of multi-label sets. */
class LabeledSplitTest {
    /** 100 patients with 1 to 4 images (patient p has 1 + p % 4), label A positive for every 10th patient, B for even ones. */
    private static LabeledSet set(String prefix) {
        List<LabeledImage> images = new ArrayList<>();
        for (int p = 0; p < 100; p++) {
            for (int i = 0; i <= p % 4; i++) {
                float[] t = {p % 10 == 0 ? 1f : 0f, p % 2 == 0 ? 1f : Float.NaN};
                images.add(new LabeledImage(Path.of(prefix + p + "_" + i + ".png"), t, prefix + p, "s.csv line " + images.size()));
            }
        }
        return new LabeledSet(List.of("A", "B"), images, "test set");
    }

    private static Set<String> patients(LabeledSet s) {
        return s.images().stream().map(LabeledImage::patient).collect(Collectors.toSet());
    }

    @Test
    void noPatientOnBothSidesAndAboutTheFraction() {
        LabeledSet all = set("p");
        int total = all.images().size(); // sum over p of 1 + p % 4 = 25 * (1 + 2 + 3 + 4) = 250
        assertEquals(250, total);
        for (long seed = 0; seed < 5; seed++) {
            LabeledSplit.Sides s = LabeledSplit.split(all, 0.2, seed);
            Set<String> shared = new HashSet<>(patients(s.train()));
            shared.retainAll(patients(s.validation()));
            assertTrue(shared.isEmpty(), shared.toString());
            assertEquals(total, s.train().images().size() + s.validation().images().size());
            // whole patients of at most 4 images per stratum (3 strata): within 3 * 2 images of round(0.2 * 250) = 50
            assertTrue(Math.abs(s.validation().images().size() - 50) <= 6, "validation " + s.validation().images().size());
            // the rarest label's stratum (A: 10 patients, 25 images) reaches validation too
            assertTrue(s.validation().images().stream().anyMatch(im -> im.targets()[0] == 1f));
        }
        assertEquals(LabeledSplit.split(all, 0.2, 3).validation().images(), LabeledSplit.split(all, 0.2, 3).validation().images());
        assertNotEquals(patients(LabeledSplit.split(all, 0.2, 3).validation()), patients(LabeledSplit.split(all, 0.2, 4).validation()));
    }

    @Test
    void leakageNamesSharedPatients() {
        LabeledSet train = set("p");
        assertNull(LabeledSplit.leakage(train, set("q"), "val", "valid.csv"));
        List<LabeledImage> other = new ArrayList<>(set("q").images());
        other.add(new LabeledImage(Path.of("x.png"), new float[] {0, 0}, "p7", "v.csv line 2"));
        other.add(new LabeledImage(Path.of("y.png"), new float[] {0, 0}, "p12", "v.csv line 3"));
        PatientSplit.Leak l = LabeledSplit.leakage(train, new LabeledSet(List.of("A", "B"), other, "v"), "test", "test.csv");
        assertEquals(2, l.patients());
        assertEquals(102, l.otherPatients());
        assertEquals(List.of("p12", "p7"), l.examples());
        String w = LabeledSplit.warning(l);
        assertTrue(w.startsWith("2 patients appear in both training and test (test.csv; 2 of its 102 patients), e.g. p12, p7"), w);
        assertEquals("label CSV", LabeledSplit.leakageEntry("label CSV", List.of(l)).get("patient_source"));
    }
}
