package dev.graft.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft train --labels}: option errors exit 2 with a message and no stack trace; the demo set loads, splits, trains and is summarised. */
class LabelOptionsCliTest {
    static final Path DEMO = Path.of("..", "demo", "fashion").toAbsolutePath().normalize();
    static final String TRAIN = DEMO.resolve("chexpert/train.csv").toString();
    static final String VALID = DEMO.resolve("chexpert/valid.csv").toString();

    /** exit code, stdout, stderr. */
    private static String[] run(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = GraftCli.execute(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new String[] {Integer.toString(code), o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
    }

    private static void optionError(String expected, String... args) {
        String[] r = run(args);
        assertEquals("2", r[0], r[2]);
        assertTrue(r[2].contains(expected), r[2]);
        assertFalse(r[2].contains("\tat "), r[2]);
    }

    @Test
    void optionErrors(@TempDir Path dir) {
        String out = dir.resolve("run").toString();
        optionError("--labels and --data exclude each other", "train", "--labels", TRAIN, "--images", DEMO.toString(), "--data",
                DEMO.toString(), "--out", out);
        optionError("--labels needs --images ROOT", "train", "--labels", TRAIN, "--out", out);
        optionError("--images, --targets describe a label CSV set and need --labels FILE.csv", "train", "--data", DEMO.toString(),
                "--images", DEMO.toString(), "--targets", "A", "--out", out);
        optionError("--uncertain 'maybe' is not one of the accepted values: ignore, zeros, ones", "train", "--labels", TRAIN,
                "--images", DEMO.toString(), "--uncertain", "maybe", "--out", out);
        optionError("--blank 'ones' is not one of the accepted values: zeros, ignore", "train", "--labels", TRAIN,
                "--images", DEMO.toString(), "--blank", "ones", "--out", out);
        optionError("--label-format 'csv' is not one of the accepted values", "train", "--labels", TRAIN,
                "--images", DEMO.toString(), "--label-format", "csv", "--out", out);
        optionError("--targets 'Shirt,,Large' has an empty name", "train", "--labels", TRAIN, "--images", DEMO.toString(),
                "--targets", "Shirt,,Large", "--out", out);
        optionError("with --labels give --val-labels FILE.csv", "train", "--labels", TRAIN, "--images", DEMO.toString(),
                "--val", DEMO.toString(), "--out", out);
        optionError("--label-format generic needs --path-column", "train", "--labels", TRAIN, "--images", DEMO.toString(),
                "--label-format", "generic", "--out", out);
        optionError("'Sleeves' is not a label of " + TRAIN + "; its labels are Shirt, Bright, Large, Patterned", "train", "--labels",
                TRAIN, "--images", DEMO.toString(), "--targets", "Shirt,Sleeves", "--out", out);
        assertFalse(Files.exists(dir.resolve("run")));
    }

    /**
     * The demo set trains end to end with a tiny network (a narrow ResNet-10 at 16 pixels, two epochs, on cpu): the
     * sets' per-label counts and patient split, then the per-label table of the best model (AUC, sensitivity,
     * specificity, threshold, positives/known) and the mean; metrics.json and a multi-label model file.
     */
    @Test
    void theDemoSetTrainsAndPrintsThePerLabelTable(@TempDir Path dir) throws java.io.IOException {
        Path runDir = dir.resolve("run");
        String[] r = run("train", "--labels", TRAIN, "--images", DEMO.toString(), "--targets", "Large,Shirt", "--out",
                runDir.toString(), "--no-progress", "--arch", "block=basic layers=1,1,1,1 groups=1 width_per_group=64 stem=4 "
                        + "planes=4,8,8,8 classes=2 in_channels=3", "--image-size", "16", "--resize-size", "16", "--batch-size", "32",
                "--head-epochs", "0", "--finetune-epochs", "2", "--device", "cpu", "--workers", "2", "--class-weights", "auto");
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains(TRAIN + ": 2 labels [Large, Shirt]"), r[1]);
        assertTrue(r[1].contains("split by patient: ") && r[1].contains("none on both sides"), r[1]);
        assertTrue(r[1].contains("AUC [95% CI]") && r[1].contains("positives/known"), r[1]);
        assertTrue(r[1].matches("(?s).*\\nLarge\\s.*\\nShirt\\s.*\\nmean \\(\\d of 2 labels\\).*"), r[1]);
        String metrics = Files.readString(runDir.resolve("metrics.json"));
        assertTrue(metrics.contains("\"multi_label\" : true") && metrics.contains("\"patient_leakage\""), metrics);
        assertTrue(Files.readString(runDir.resolve("multi-label.json")).contains("Large"));

        // graft evaluate on the validation CSV: the model's labels, its thresholds, the same table.
        String best = runDir.resolve("best.safetensors").toString();
        String[] ev = run("evaluate", "--model", best, "--labels", VALID, "--images", DEMO.toString(), "--out",
                dir.resolve("eval").toString(), "--device", "cpu", "--no-progress");
        assertEquals("0", ev[0], ev[1] + ev[2]);
        assertTrue(ev[1].contains("100 images of") && ev[1].matches("(?s).*\\nLarge\\s.*\\nShirt\\s.*"), ev[1]);
        assertTrue(Files.readString(dir.resolve("eval/metrics.json")).contains("\"mean_auc\""));
        String[] wrong = run("evaluate", "--model", best, "--data", DEMO.toString(), "--no-progress");
        assertEquals("2", wrong[0], wrong[2]);
        assertTrue(wrong[2].contains("is multi-label") && wrong[2].contains("--labels FILE.csv"), wrong[2]);
        // graft predict: one probability per label and its call.
        String[] pr = run("predict", "--model", best, "--device", "cpu", DEMO.resolve("task/train/shirt/00077.png").toString());
        assertEquals("0", pr[0], pr[2]);
        assertTrue(pr[1].contains("P(Large)") && pr[1].contains("P(Shirt)") && pr[1].contains("decision: per label"), pr[1]);
    }

    /**
     * {@code graft train --resume} of a multi-label run reads its label CSVs again with the options saved in
     * multi-label.json (from another working directory's view: the paths are saved absolute): stopped after epoch 1
     * and resumed, it ends with the same weights in last.safetensors and best.safetensors, tensor for tensor, as an uninterrupted run (reference backend,
     * deterministic; no tolerance). Label options beside --resume are refused, as other settings are, and so is a resume
     * after the label CSV changed.
     */
    @Test
    void aMultiLabelRunResumesFromItsSavedLabelOptions(@TempDir Path dir) throws java.io.IOException {
        String arch = "block=basic layers=1,1,1,1 groups=1 width_per_group=64 stem=4 planes=4,8,8,8 classes=2 in_channels=3";
        Path csv = dir.resolve("train.csv"); // a copy, edited at the end
        Files.copy(Path.of(TRAIN), csv);
        java.util.List<String> common = java.util.List.of("--labels", csv.toString(), "--images", DEMO.toString(), "--targets", "Large,Shirt",
                "--no-progress", "--arch", arch, "--image-size", "16", "--resize-size", "16", "--batch-size", "32", "--head-epochs", "0",
                "--finetune-epochs", "2", "--device", "reference", "--workers", "2", "--class-weights", "auto", "--augment", "flip=0.5");
        Path straight = dir.resolve("straight");
        Path split = dir.resolve("split");
        for (Path runDir : java.util.List.of(straight, split)) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("train", "--out", runDir.toString()));
            args.addAll(common);
            if (runDir == split) {
                args.addAll(java.util.List.of("--stop-after-epochs", "1"));
            }
            String[] r = run(args.toArray(String[]::new));
            assertEquals("0", r[0], r[1] + r[2]);
        }
        assertFalse(Files.exists(split.resolve("metrics.json")));
        optionError("--targets would change them", "train", "--resume", split.toString(), "--targets", "Large");
        String[] r = run("train", "--resume", split.toString(), "--no-progress");
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("resuming " + split + " after epoch 1 of 2"), r[1]);
        for (String f : java.util.List.of("last.safetensors", "best.safetensors")) {
            dev.graft.engine.StateDict a = dev.graft.loaders.StateDicts.read(straight.resolve(f));
            dev.graft.engine.StateDict b = dev.graft.loaders.StateDicts.read(split.resolve(f));
            assertEquals(a.keys(), b.keys());
            for (String k : a.keys()) {
                assertEquals(a.get(k), b.get(k), f + " " + k + " differs after resuming");
            }
        }
        String metrics = Files.readString(split.resolve("metrics.json"));
        assertTrue(metrics.contains("\"patient_leakage\""), metrics);
        assertTrue(Files.exists(split.resolve("report.html")));

        // The CSV edited (its last row dropped): training more on other sets is refused, and nothing is trained.
        java.util.List<String> rows = Files.readAllLines(csv);
        Files.write(csv, rows.subList(0, rows.size() - 1));
        String[] changed = run("train", "--resume", split.toString(), "--finetune-epochs", "1", "--no-progress");
        assertTrue(!changed[0].equals("0") && changed[2].contains("differ from the ones it was trained on"), changed[1] + changed[2]);
        assertFalse(changed[2].contains("\tat "), changed[2]);
    }

    @Test
    void aValidationCsvSharingPatientsIsAWarning(@TempDir Path dir) {
        // --label-smoothing, refused for multi-label training after the sets are loaded, stops each run before training.
        String[] clean = run("train", "--labels", TRAIN, "--images", DEMO.toString(), "--val-labels", VALID, "--out",
                dir.resolve("run").toString(), "--no-progress", "--label-smoothing", "0.1");
        assertTrue(clean[2].contains("multi-label training does not take --label-smoothing"), clean[2]);
        assertTrue(clean[1].contains("validation: " + VALID + " (100 images)"), clean[1]);
        assertFalse(clean[2].contains("patient"), clean[2]);
        // the training CSV as its own validation set: all 135 patients shared (the count from check.py)
        String[] leak = run("train", "--labels", TRAIN, "--images", DEMO.toString(), "--val-labels", TRAIN, "--out",
                dir.resolve("run").toString(), "--no-progress", "--label-smoothing", "0.1");
        assertTrue(leak[2].contains("warning: 135 patients appear in both training and val (" + TRAIN + "; 135 of its 135 patients), "
                + "e.g. patient00001, patient00002"), leak[2]);
    }
}
