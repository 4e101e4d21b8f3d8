package dev.graft.cli;

import dev.graft.loaders.labels.CsvLabelSpec;
import dev.graft.loaders.labels.CsvLabels;
import dev.graft.loaders.labels.LabelCount;
import dev.graft.loaders.labels.LabelFormat;
import dev.graft.loaders.labels.LabelPolicy;
import dev.graft.loaders.labels.LabeledSet;
import dev.graft.models.PrintableText;
import dev.graft.train.LabeledSplit;
import dev.graft.train.OptionChecks;
import dev.graft.train.OptionException;
import dev.graft.train.PatientSplit;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/** The options that describe a multi-label data set given by label CSVs ({@code --labels FILE.csv --images ROOT}). */
final class LabelOptions {
    @Option(names = "--labels", paramLabel = "FILE.csv", description = "Multi-label training set: a label CSV, one row per image "
            + "(CheXpert, NIH ChestX-ray14, MIMIC-CXR-JPG or generic; see --label-format). Needs --images; excludes --data.")
    Path labels;
    @Option(names = "--images", paramLabel = "ROOT", description = "The folder the CSV's image paths are relative to (CheXpert: the "
            + "folder holding CheXpert-v1.0-small, or that folder; NIH: the folder of the images, or of images/ and images_NNN/images/).")
    Path images;
    @Option(names = "--label-format", defaultValue = "auto", description = "auto (from the header), chexpert, nih, mimic or generic "
            + "(default ${DEFAULT-VALUE}).")
    String format;
    @Option(names = "--metadata", paramLabel = "FILE.csv", description = "MIMIC-CXR-JPG: mimic-cxr-2.0.0-metadata.csv, mapping each "
            + "dicom_id to its subject and study; images are ROOT/files/pXX/pSUBJECT/sSTUDY/DICOM_ID.jpg.")
    Path metadata;
    @Option(names = "--path-column", paramLabel = "COLUMN", description = "The image path column (makes an unknown header generic).")
    String pathColumn;
    @Option(names = "--label-columns", paramLabel = "A,B,C", description = "Generic format: the label columns (default: every other "
            + "column holding only numbers or blanks).")
    String labelColumns;
    @Option(names = "--patient-column", paramLabel = "COLUMN", description = "The patient id column (default: CheXpert's patientNNNNN "
            + "folder, NIH's Patient ID, MIMIC's subject_id). The --val-fraction split then keeps each patient on one side.")
    String patientColumn;
    @Option(names = "--uncertain", defaultValue = "ignore", description = "What an uncertain label (-1) becomes: ignore (left out of "
            + "the loss and metrics, as torchxrayvision does), zeros or ones (the CheXpert paper's U-Zeros and U-Ones) "
            + "(default ${DEFAULT-VALUE}).")
    String uncertain;
    @Option(names = "--blank", defaultValue = "zeros", description = "What a blank label (not mentioned in the report) becomes: "
            + "zeros (negative) or ignore (default ${DEFAULT-VALUE}).")
    String blank;
    @Option(names = "--targets", paramLabel = "A,B,...", description = "The labels to train on, in this order (default: all of the set's).")
    String targets;
    @Option(names = "--val-labels", paramLabel = "FILE.csv", description = "Validation label CSV in the same format (default: a seeded "
            + "--val-fraction split of --labels, by patient when patient ids are known).")
    Path valLabels;
    @Option(names = "--test-labels", paramLabel = "FILE.csv", description = "Test label CSV in the same format, evaluated once at the end.")
    Path testLabels;

    /** The train, validation and (optional) test sets, how validation was chosen, and the patients they share. */
    record LabelSets(LabeledSet train, LabeledSet validation, LabeledSet test, String splitLine, List<PatientSplit.Leak> leaks) {
        /** The {@code "patient_leakage"} entry for metrics.json. */
        java.util.Map<String, Object> leakageEntry() {
            return LabeledSplit.leakageEntry("label CSV", leaks);
        }
    }

    boolean given() {
        return labels != null;
    }

    /** The options as saved in a multi-label run folder (paths absolute), for {@link #fromSource} when it is resumed. */
    java.util.Map<String, String> source() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("labels", absolute(labels));
        m.put("images", absolute(images));
        m.put("label-format", format);
        m.put("metadata", absolute(metadata));
        m.put("path-column", pathColumn);
        m.put("label-columns", labelColumns);
        m.put("patient-column", patientColumn);
        m.put("uncertain", uncertain);
        m.put("blank", blank);
        m.put("targets", targets);
        m.put("val-labels", absolute(valLabels));
        m.put("test-labels", absolute(testLabels));
        m.values().removeIf(java.util.Objects::isNull);
        return m;
    }

    private static String absolute(Path p) {
        return p == null ? null : p.toAbsolutePath().normalize().toString();
    }

    /** The options saved by {@link #source()}; checked as given ones are. */
    static LabelOptions fromSource(java.util.Map<?, ?> m) {
        LabelOptions o = new LabelOptions();
        java.util.function.Function<String, String> s = k -> m.get(k) == null ? null : m.get(k).toString();
        java.util.function.Function<String, Path> p = k -> s.apply(k) == null ? null : Path.of(s.apply(k));
        o.labels = p.apply("labels");
        o.images = p.apply("images");
        o.format = s.apply("label-format") == null ? "auto" : s.apply("label-format");
        o.metadata = p.apply("metadata");
        o.pathColumn = s.apply("path-column");
        o.labelColumns = s.apply("label-columns");
        o.patientColumn = s.apply("patient-column");
        o.uncertain = s.apply("uncertain") == null ? "ignore" : s.apply("uncertain");
        o.blank = s.apply("blank") == null ? "zeros" : s.apply("blank");
        o.targets = s.apply("targets");
        o.valLabels = p.apply("val-labels");
        o.testLabels = p.apply("test-labels");
        if (o.labels == null) {
            throw new OptionException("the saved label options have no label CSV");
        }
        o.check(null, null, null, null);
        return o;
    }

    /** Option errors: label options without --labels, --labels with the image-folder options, values out of their sets. */
    void check(Path data, Path val, Path test, String patientRegex) {
        if (labels == null) {
            java.util.Map<String, Object> given = new java.util.LinkedHashMap<>();
            given.put("--images", images);
            given.put("--metadata", metadata);
            given.put("--path-column", pathColumn);
            given.put("--label-columns", labelColumns);
            given.put("--patient-column", patientColumn);
            given.put("--targets", targets);
            given.put("--val-labels", valLabels);
            given.put("--test-labels", testLabels);
            List<String> stray = given.entrySet().stream().filter(e -> e.getValue() != null).map(java.util.Map.Entry::getKey).toList();
            if (!stray.isEmpty()) {
                throw new OptionException(String.join(", ", stray) + " describe" + (stray.size() == 1 ? "s" : "")
                        + " a label CSV set and need" + (stray.size() == 1 ? "s" : "") + " --labels FILE.csv");
            }
            return;
        }
        if (data != null) {
            throw new OptionException("--labels and --data exclude each other: --labels FILE.csv --images ROOT is a multi-label set "
                    + "described by a CSV, --data DIR a folder of class sub-folders");
        }
        if (val != null || test != null) {
            throw new OptionException((val != null ? "--val" : "--test") + " names an image folder; with --labels give "
                    + (val != null ? "--val-labels" : "--test-labels") + " FILE.csv");
        }
        if (patientRegex != null) {
            throw new OptionException("--patient-regex reads patients from image-folder file names; with --labels the patient is "
                    + "the CSV's (--patient-column COLUMN names another column)");
        }
        if (images == null) {
            throw new OptionException("--labels needs --images ROOT, the folder the CSV's image paths are relative to");
        }
        String f = OptionChecks.oneOf("--label-format", format, List.of("auto", "chexpert", "nih", "mimic", "generic"));
        OptionChecks.oneOf("--uncertain", uncertain, List.of("ignore", "zeros", "ones"));
        OptionChecks.oneOf("--blank", blank, List.of("zeros", "ignore"));
        if (metadata != null && !(f.equals("auto") || f.equals("mimic"))) {
            throw new OptionException("--metadata is MIMIC-CXR-JPG's dicom_id -> study map; it does not go with --label-format " + f);
        }
        if (labelColumns != null && !(f.equals("generic") || f.equals("auto") && pathColumn != null)) {
            throw new OptionException("--label-columns names the labels of a generic CSV: give --path-column too (or --label-format "
                    + "generic); the other formats know their label columns (--targets picks among them)");
        }
        if (f.equals("generic") && pathColumn == null) {
            throw new OptionException("--label-format generic needs --path-column COLUMN, the column holding each image's path");
        }
        list("--label-columns", labelColumns);
        list("--targets", targets);
    }

    /** A comma list: trimmed names, none empty; null stays null. */
    private static List<String> list(String option, String value) {
        if (value == null) {
            return null;
        }
        List<String> names = Arrays.stream(value.split(",", -1)).map(String::trim).toList();
        if (names.stream().anyMatch(String::isEmpty)) {
            throw new OptionException(option + " '" + value + "' has an empty name: give names separated by single commas, "
                    + "e.g. Atelectasis,Cardiomegaly");
        }
        return names;
    }

    /** The spec of the training CSV (after {@link #check}). */
    CsvLabelSpec spec() {
        return new CsvLabelSpec(labels, images, LabelFormat.valueOf(format.trim().toUpperCase(Locale.ROOT)), metadata, pathColumn,
                list("--label-columns", labelColumns), patientColumn,
                new LabelPolicy(LabelPolicy.Uncertain.valueOf(uncertain.trim().toUpperCase(Locale.ROOT)),
                        LabelPolicy.Blank.valueOf(blank.trim().toUpperCase(Locale.ROOT))),
                list("--targets", targets));
    }

    /**
     * Reads the sets (after {@link #check}): validation from --val-labels, else a seeded split of --labels holding out
     * {@code valFraction} of it, whole patients on one side; test from --test-labels (null when absent). A separate
     * validation or test CSV sharing patients with training is a warning (and a leak in the result).
     */
    LabelSets load(double valFraction, long seed, Consumer<String> warnings) {
        CsvLabelSpec spec = spec();
        LabeledSet all = CsvLabels.read(spec, warnings);
        LabeledSet train;
        LabeledSet val;
        String line;
        List<PatientSplit.Leak> leaks = new ArrayList<>();
        if (valLabels != null) {
            train = all;
            val = CsvLabels.read(spec.withLabels(valLabels), warnings);
            line = "validation: " + valLabels + " (" + val.images().size() + " images)";
            PatientSplit.Leak l = LabeledSplit.leakage(train, val, "val", valLabels.toString());
            if (l != null) {
                leaks.add(l);
            }
        } else {
            OptionChecks.between("--val-fraction", valFraction, 0, 1, "the share of --labels held out for validation");
            LabeledSplit.Sides s = LabeledSplit.split(all, valFraction, seed);
            if (s.validation().images().isEmpty()) {
                throw new dev.graft.loaders.images.DatasetException("too few images (or patients) in " + labels
                        + " to hold out a validation set; add rows or pass --val-labels FILE.csv");
            }
            train = s.train();
            val = s.validation();
            long unknown = all.images().stream().filter(im -> im.patient() == null).count();
            line = LabeledSplit.describe(s) + (unknown == 0 ? "" : unknown == all.images().size()
                    ? " (no patient ids in " + labels + ": every image counts as its own patient; --patient-column names a column)"
                    : " (" + unknown + " images without a patient id count as their own patients)");
        }
        LabeledSet test = null;
        if (testLabels != null) {
            test = CsvLabels.read(spec.withLabels(testLabels), warnings);
            PatientSplit.Leak l = LabeledSplit.leakage(all, test, "test", testLabels.toString());
            if (l != null) {
                leaks.add(l);
            }
        }
        leaks.forEach(l -> warnings.accept(LabeledSplit.warning(l)));
        return new LabelSets(train, val, test, line, List.copyOf(leaks));
    }

    /** The per-label table: positive, negative and unknown images on each side. */
    static String summary(LabelSets sets) {
        List<String> header = new ArrayList<>(List.of("label", "train +", "train -", "train ?", "val +", "val -", "val ?"));
        if (sets.test() != null) {
            header.addAll(List.of("test +", "test -", "test ?"));
        }
        Table t = new Table(header.toArray(String[]::new));
        List<LabelCount> tr = LabelCount.of(sets.train());
        List<LabelCount> va = LabelCount.of(sets.validation());
        List<LabelCount> te = sets.test() == null ? null : LabelCount.of(sets.test());
        for (int k = 0; k < tr.size(); k++) {
            List<Object> row = new ArrayList<>(List.of(tr.get(k).label(), tr.get(k).positive(), tr.get(k).negative(), tr.get(k).unknown(),
                    va.get(k).positive(), va.get(k).negative(), va.get(k).unknown()));
            if (te != null) {
                row.addAll(List.of(te.get(k).positive(), te.get(k).negative(), te.get(k).unknown()));
            }
            t.row(row.toArray());
        }
        return t.toString();
    }
}
