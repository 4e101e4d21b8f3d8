package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.tests.train.TrainCommandTest.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static dev.graft.tests.train.TrainCommandTest.graft;
import static dev.graft.tests.train.TrainCommandTest.trainArgs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft train --patient-regex} end to end: a patient-level held-out split, and a test folder sharing patients. */
class PatientRegexTrainTest {
    /** Renames class c's NNN.png to p{100c + NNN/3}_NNN.png: three images per patient. */
    private static void byPatient(Path root) throws IOException {
        List<Path> classes;
        try (Stream<Path> s = Files.list(root)) {
            classes = s.sorted().toList();
        }
        for (int c = 0; c < classes.size(); c++) {
            List<Path> files;
            try (Stream<Path> s = Files.list(classes.get(c))) {
                files = s.sorted().toList();
            }
            for (Path f : files) {
                int i = Integer.parseInt(f.getFileName().toString().substring(0, 3));
                Files.move(f, f.resolveSibling("p" + (100 * c + i / 3) + "_" + f.getFileName()));
            }
        }
    }

    @Test
    void splitsByPatientAndRecordsTestLeakage(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("chest");
        SyntheticImages.folder(data.resolve("train"), 1, 24, 16); // patients p0..p7 (3 images each), p100..p105 (p105: 1)
        SyntheticImages.folder(data.resolve("test"), 3, 9, 6);    // p0..p2 and p100..p101: all five also in train/
        byPatient(data.resolve("train"));
        byPatient(data.resolve("test"));
        Path run = dir.resolve("run");
        List<String> a = trainArgs(data, run, "cpu", "--head-epochs", "1", "--finetune-epochs", "0", "--patient-regex", "^(p\\d+)_");
        Run r = graft(a.toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("split by patient (--patient-regex ^(p\\d+)_): "), r.out());
        assertTrue(r.err().contains("5 patients appear in both training and test (" + data.resolve("test") + "; 5 of its 5 patients), "
                + "e.g. p0, p1, p100, p101, p2: figures on test are optimistic"), r.err());
        JsonNode m = new ObjectMapper().readTree(run.resolve("metrics.json").toFile());
        JsonNode leak = m.get("patient_leakage");
        assertEquals("^(p\\d+)_", leak.get("patient_regex").asText());
        assertEquals(5, leak.get("test").get("shared_patients").asInt());
        assertTrue(m.has("test"), "the test evaluation keeps the entry");
        assertEquals("^(p\\d+)_", m.get("config").get("patientRegex").asText());
    }

    @Test
    void aResumedRunMakesTheSamePatientSplit(@TempDir Path dir) throws IOException {
        Path data = SyntheticImages.folder(dir.resolve("chest"), 1, 24, 16);
        byPatient(data);
        Path run = dir.resolve("run");
        List<String> a = trainArgs(data, run, "cpu", "--head-epochs", "2", "--finetune-epochs", "0", "--patient-regex", "^(p\\d+)_",
                "--stop-after-epochs", "1");
        Run first = graft(a.toArray(String[]::new));
        Run resumed = graft("train", "--resume", run.toString(), "--no-progress");
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        String line = first.out().lines().filter(l -> l.startsWith("split by patient")).findFirst().orElseThrow();
        assertTrue(resumed.out().contains(line), line + " / " + resumed.out());
        assertTrue(resumed.out().lines().anyMatch(l -> l.startsWith("data: ")), resumed.out());
        String firstData = first.out().lines().filter(l -> l.startsWith("data: ")).findFirst().orElseThrow();
        assertTrue(resumed.out().contains(firstData), firstData + " / " + resumed.out()); // the same image counts on each side
        JsonNode leak = new ObjectMapper().readTree(run.resolve("metrics.json").toFile()).get("patient_leakage");
        assertEquals("^(p\\d+)_", leak.get("patient_regex").asText()); // kept after the resumed run rewrote metrics.json
    }
}
