package dev.graft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageFolder;
import dev.graft.loaders.images.ImageFolder.Sample;
import dev.graft.loaders.images.Sampling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --patient-regex: whole patients on one side of the held-out split, and the leakage check of separate folders. */
class PatientSplitTest {
    private static final Pattern KERMANY = PatientSplit.compile("^(person\\d+)_");

    /** Kermany-style names: {@code patients[c]} patients in class c, 2 to 4 images each (drawn from a fixed seed). */
    private static List<Sample> synthetic(int... patients) {
        SplittableRandom rng = new SplittableRandom(42);
        List<Sample> out = new ArrayList<>();
        int id = 0;
        for (int c = 0; c < patients.length; c++) {
            for (int p = 0; p < patients[c]; p++, id++) {
                int images = 2 + rng.nextInt(3);
                for (int i = 0; i < images; i++) {
                    out.add(new Sample(Path.of("class" + c, "person" + id + "_virus_" + i + ".jpeg"), c));
                }
            }
        }
        return out;
    }

    private static Set<String> patients(List<Sample> samples) {
        Set<String> ids = new HashSet<>();
        for (Sample s : samples) {
            ids.add(PatientSplit.patientOf(s.path(), KERMANY));
        }
        return ids;
    }

    @Test
    void noPatientOnBothSidesAndClassBalanceKept() {
        List<Sample> all = synthetic(30, 20);
        Sampling.Split s = PatientSplit.split(all, 2, 0.2, 7, KERMANY);
        assertEquals(all.size(), s.train().size() + s.validation().size());
        Set<String> shared = patients(s.train());
        shared.retainAll(patients(s.validation()));
        assertTrue(shared.isEmpty(), "patients on both sides: " + shared);
        int[] total = ImageFolder.countLabels(all, 2);
        int[] val = ImageFolder.countLabels(s.validation(), 2);
        for (int c = 0; c < 2; c++) {
            // The greedy rule adds a patient only when it brings the count closer to round(total * 0.2); so it stops short
            // only when the next patient (<= 4 images) would overshoot by at least as much, i.e. by at most 4 / 2 = 2 images,
            // and it overshoots only by less than it was short. Hence |val - target| <= 2 for every class.
            long target = Math.round(total[c] * 0.2);
            assertTrue(Math.abs(val[c] - target) <= 2, "class " + c + ": " + val[c] + " held out, target " + target);
        }
    }

    @Test
    void sameSeedSameSplitOtherSeedOtherSplit() {
        List<Sample> all = synthetic(30, 20);
        assertEquals(PatientSplit.split(all, 2, 0.2, 3, KERMANY), PatientSplit.split(all, 2, 0.2, 3, KERMANY));
        assertNotEquals(PatientSplit.split(all, 2, 0.2, 3, KERMANY).validation(), PatientSplit.split(all, 2, 0.2, 4, KERMANY).validation());
    }

    @Test
    void aPatientInSeveralClassesGoesByItsMajorityAndStaysWhole() {
        List<Sample> all = new ArrayList<>(synthetic(10, 10));
        // person99: two images in class 1, one in class 0 -> counted as class 1, all three on one side.
        all.add(new Sample(Path.of("class0", "person99_a.jpeg"), 0));
        all.add(new Sample(Path.of("class1", "person99_b.jpeg"), 1));
        all.add(new Sample(Path.of("class1", "person99_c.jpeg"), 1));
        assertEquals(1, PatientSplit.majority(all.subList(all.size() - 3, all.size()), 2));
        for (long seed = 0; seed < 20; seed++) {
            Sampling.Split s = PatientSplit.split(all, 2, 0.3, seed, KERMANY);
            Set<String> shared = patients(s.train());
            shared.retainAll(patients(s.validation()));
            assertTrue(shared.isEmpty(), "seed " + seed + ": " + shared);
        }
    }

    @Test
    void namedGroupPatientIsUsed() {
        Pattern p = PatientSplit.compile("^(x)?(?<patient>[a-z]+\\d+)-");
        assertEquals("pat12", PatientSplit.patientOf(Path.of("d", "pat12-view1.png"), p));
    }

    @Test
    void anUnmatchedFileNameIsAnErrorNamingFileAndRegex() {
        List<Sample> all = new ArrayList<>(synthetic(3, 3));
        all.add(new Sample(Path.of("class0", "IM-0001.jpeg"), 0));
        DatasetException e = assertThrows(DatasetException.class, () -> PatientSplit.split(all, 2, 0.2, 0, KERMANY));
        assertTrue(e.getMessage().contains("IM-0001.jpeg") && e.getMessage().contains("^(person\\d+)_"), e.getMessage());
    }

    @Test
    void badRegexesAreTypedOptionErrors() {
        OptionException syntax = assertThrows(OptionException.class, () -> PatientSplit.compile("(person\\d+_"));
        assertTrue(syntax.getMessage().contains("--patient-regex") && syntax.getMessage().contains("not a valid"), syntax.getMessage());
        OptionException noGroup = assertThrows(OptionException.class, () -> PatientSplit.compile("^person\\d+_"));
        assertTrue(noGroup.getMessage().contains("no capturing group"), noGroup.getMessage());
        assertNull(PatientSplit.compile(null));
        // and through the settings, so a bad regex fails before any work (and a saved one is checked on --resume)
        assertThrows(OptionException.class, () -> config("d", null, "[a-"));
    }

    @Test
    void leakageWarningAndMetricsEntry(@TempDir Path dir) throws IOException {
        Path train = dir.resolve("train");
        Path test = dir.resolve("test");
        for (int p = 1; p <= 5; p++) {
            touch(train.resolve("NORMAL/person" + p + "_a.jpeg"));
            touch(train.resolve("PNEUMONIA/person" + p + "_b.jpeg"));
        }
        for (int p = 4; p <= 8; p++) {
            touch(test.resolve("NORMAL/person" + p + "_c.jpeg"));
            touch(test.resolve("PNEUMONIA/person" + p + "_d.jpeg"));
        }
        List<PatientSplit.Leak> leaks = PatientSplit.check(train, null, test, config(train.toString(), null, "^(person\\d+)_"));
        assertEquals(1, leaks.size());
        PatientSplit.Leak l = leaks.get(0);
        assertEquals(2, l.patients()); // person4 and person5 are in both
        assertEquals(5, l.otherPatients());
        assertEquals(List.of("person4", "person5"), l.examples());
        assertTrue(l.warning().startsWith("2 patients appear in both training and test"), l.warning());
        assertTrue(l.warning().contains("e.g. person4, person5: figures on test are optimistic"), l.warning());

        Path metrics = dir.resolve("metrics.json");
        Report.writeJson(metrics, Map.of("accuracy", 0.5));
        PatientSplit.record(metrics, "^(person\\d+)_", leaks);
        JsonNode json = new ObjectMapper().readTree(metrics.toFile());
        assertEquals(0.5, json.get("accuracy").asDouble()); // what was there stays
        JsonNode entry = json.get("patient_leakage");
        assertEquals("^(person\\d+)_", entry.get("patient_regex").asText());
        assertEquals(2, entry.get("test").get("shared_patients").asInt());
        assertEquals("person4", entry.get("test").get("examples").get(0).asText());
        assertNull(entry.get("val"));
    }

    @Test
    void noSharedPatientsNoLeak() {
        assertNull(PatientSplit.leakage(synthetic(2, 2), List.of(new Sample(Path.of("c", "person500_x.png"), 0)), KERMANY, "val", "v"));
    }

    @Test
    void withoutARegexTheSplitIsTheImageLevelOneAndWithItPatientLevel(@TempDir Path dir) throws IOException {
        for (Sample s : synthetic(12, 9)) {
            touch(dir.resolve(s.path()));
        }
        ImageFolder f = ImageFolder.scan(dir);
        RunData plain = RunData.prepare(config(dir.toString(), null, null));
        Sampling.Split expected = Sampling.stratified(f.samples(), 2, 0.2, 0);
        assertEquals(expected.train(), plain.train());
        assertEquals(expected.validation(), plain.validation());
        RunData byPatient = RunData.prepare(config(dir.toString(), null, "^(person\\d+)_"));
        assertEquals(PatientSplit.split(f.samples(), 2, 0.2, 0, PatientSplit.compile("^(person\\d+)_")).validation(), byPatient.validation());
        // 21 patients in all (12 + 9): the line counts patients, not images
        String line = PatientSplit.describe(byPatient.train(), byPatient.validation(), "^(person\\d+)_");
        Set<String> v = patients(byPatient.validation());
        assertEquals("split by patient (--patient-regex ^(person\\d+)_): " + (21 - v.size()) + " training patients, " + v.size()
                + " validation patients, none on both sides", line);
    }

    @Test
    void theRegexTravelsWithTheSavedSettings() {
        TrainConfig c = config("d", null, "^(person\\d+)_");
        assertEquals("^(person\\d+)_", TrainConfig.fromJson(c.toJson()).patientRegex());
        assertNull(TrainConfig.fromJson(config("d", null, null).toJson()).patientRegex());
    }

    private static void touch(Path p) throws IOException {
        Files.createDirectories(p.getParent());
        Files.createFile(p);
    }

    private static TrainConfig config(String data, String val, String regex) {
        return new TrainConfig(data, val, 0.2, null, null, "runs/x", 224, 256, 32, 1, 3, 2e-3, 100, "adamw", 0.9, 0.01, false,
                "onecycle", 0, "none", 0, 0, "hold", null, "default", "shuffle", 0, 2, "auto", "loss", "youden", null, false,
                null, false, false, regex);
    }
}
