package dev.graft.demo;

import dev.graft.loaders.labels.CsvLabelSpec;
import dev.graft.loaders.labels.CsvLabels;
import dev.graft.loaders.labels.LabelCount;
import dev.graft.loaders.labels.LabelFormat;
import dev.graft.loaders.labels.LabelPolicy;
import dev.graft.loaders.labels.LabeledSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The committed CheXpert-shaped demo set (demo/fashion/chexpert) is what {@link DemoLabels} makes from the shipped
 * images, and reads back with the counts that demo/fashion/chexpert/check.py computes independently (Python's csv
 * module for the counts; PIL and numpy re-deriving every 1.0/0.0 from the pixels by the class comment's rules).
 */
class DemoLabelsTest {
    static final Path DEMO = Path.of("..", "demo", "fashion").toAbsolutePath().normalize();

    @Test
    void theCommittedCsvsAreWhatTheGeneratorMakes(@TempDir Path dir) throws IOException {
        if (Boolean.getBoolean("graft.demo.regenerate")) { // mvn ... -Dtest=DemoLabelsTest -Dgraft.demo.regenerate=true
            DemoLabels.write(DEMO);
        }
        DemoLabels.write(DEMO, dir);
        for (String f : List.of("train.csv", "valid.csv")) {
            assertEquals(Files.readString(DEMO.resolve("chexpert").resolve(f)), Files.readString(dir.resolve(f)), f
                    + " differs from DemoLabels' output: regenerate with DemoLabels.write(demo/fashion) (graft demo --remake does)");
        }
    }

    private static LabeledSet read(String file, LabelPolicy policy) {
        return CsvLabels.read(new CsvLabelSpec(DEMO.resolve("chexpert").resolve(file), DEMO, LabelFormat.AUTO, null, null, null, null,
                policy, null), w -> { });
    }

    @Test
    void countsMatchThePythonCheck() {
        // check.py, raw cells per label as (1.0, 0.0, -1.0, blank):
        LabeledSet train = read("train.csv", new LabelPolicy(LabelPolicy.Uncertain.IGNORE, LabelPolicy.Blank.IGNORE));
        assertEquals(DemoLabels.LABELS, train.labels());
        assertEquals(320, train.images().size());
        assertEquals(TRAIN_COUNTS, counts(train));
        LabeledSet valid = read("valid.csv", new LabelPolicy(LabelPolicy.Uncertain.IGNORE, LabelPolicy.Blank.IGNORE));
        assertEquals(100, valid.images().size());
        assertEquals(VALID_COUNTS, counts(valid));
        assertEquals(TRAIN_PATIENTS, train.images().stream().map(im -> im.patient()).distinct().count());
        assertEquals(VALID_PATIENTS, valid.images().stream().map(im -> im.patient()).distinct().count());
        // U-Ones with blank as negative: positive = 1.0 + -1.0 cells, negative = 0.0 + blank cells
        LabeledSet ones = read("train.csv", new LabelPolicy(LabelPolicy.Uncertain.ONES, LabelPolicy.Blank.ZEROS));
        LabelCount shirt = LabelCount.of(ones).get(0);
        assertEquals(TRAIN_SHIRT_ONES, shirt.positive() + "/" + shirt.negative() + "/" + shirt.unknown());
    }

    private static String counts(LabeledSet s) {
        return LabelCount.of(s).stream().map(c -> c.label() + " " + c.positive() + "/" + c.negative() + "/" + c.unknown())
                .collect(Collectors.joining(", "));
    }

    // From demo/fashion/chexpert/check.py (label: positive/negative/uncertain+blank with both ignored).
    static final String TRAIN_COUNTS = "Shirt 155/95/70, Bright 74/179/67, Large 117/144/59, Patterned 91/182/47";
    static final String VALID_COUNTS = "Shirt 37/38/25, Bright 32/51/17, Large 29/46/25, Patterned 26/52/22";
    static final long TRAIN_PATIENTS = 135;
    static final long VALID_PATIENTS = 38;
    static final String TRAIN_SHIRT_ONES = "199/121/0";
}
