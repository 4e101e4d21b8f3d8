package dev.graft.loaders.labels;

import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.labels.CsvRows.Row;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a label CSV into a {@link LabeledSet}. Formats ({@link LabelFormat}; AUTO looks at the header in this order):
 * <ul>
 * <li>NIH ChestX-ray14 ({@code Image Index} and {@code Finding Labels}): findings joined by {@code |}, {@code No Finding}
 * meaning none; labels {@link #NIH_LABELS}; patient {@code Patient ID}. An image is looked for in ROOT, ROOT/images and
 * ROOT/images_NNN/images (the Kaggle download's layout).</li>
 * <li>MIMIC-CXR-JPG ({@code subject_id} and {@code study_id}): the CheXpert-style labels per study, joined with the
 * metadata CSV (dicom_id -> subject_id, study_id) into {@code files/pXX/pSUBJECT/sSTUDY/DICOM_ID.jpg}, or one CSV with a
 * path column ({@code path}, {@code Path} or --path-column); labels: the {@link #CHEXPERT_LABELS} columns present;
 * patient {@code subject_id}.</li>
 * <li>generic, when a path column is named: --label-columns, else every other column holding only numbers or blanks.</li>
 * <li>CheXpert ({@code Path}): labels are every column but Path, Sex, Age, Frontal/Lateral and AP/PA (CheXpert's 14
 * observations, in file order); patient: a {@code Patient} column if there is one (Graft's demo set), else the
 * {@code patientNNNNN} folder in the path.</li>
 * </ul>
 * Relative paths resolve against ROOT; when ROOT/PATH does not exist, ROOT/PATH-without-its-first-folder is tried, so
 * ROOT may be the folder holding {@code CheXpert-v1.0-small} or that folder itself. A {@code --patient-column} overrides
 * the format's patient id. An image without a patient id is its own patient.
 */
public final class CsvLabels {
    /** CheXpert's 14 observations, in the order of its CSV columns (and of MIMIC-CXR-JPG's label files). */
    public static final List<String> CHEXPERT_LABELS = List.of("No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly",
            "Lung Opacity", "Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax",
            "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices");
    /** NIH ChestX-ray14's 14 findings, in the order of the data set's paper (Wang et al. 2017) and torchxrayvision. */
    public static final List<String> NIH_LABELS = List.of("Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass",
            "Nodule", "Pneumonia", "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia");
    /** CheXpert's columns that are not labels. */
    static final List<String> CHEXPERT_OTHER = List.of("Path", "Sex", "Age", "Frontal/Lateral", "AP/PA");
    private static final Pattern CHEXPERT_PATIENT = Pattern.compile("(?:^|[/\\\\])(patient\\d+)[/\\\\]");

    private CsvLabels() {
    }

    /** One image before target selection. */
    record Entry(Path file, float[] targets, String patient, String source, String at) {
    }

    /** The labels of a format and its entries, all labels. */
    record Raw(String format, List<String> labels, List<Entry> entries) {
    }

    /** The format AUTO picks for this header (and --path-column, which makes an unknown header generic). */
    public static LabelFormat detect(Path file, List<String> header, String pathColumn) {
        if (header.contains("Image Index") && header.contains("Finding Labels")) {
            return LabelFormat.NIH;
        }
        if (header.contains("subject_id") && header.contains("study_id")) {
            return LabelFormat.MIMIC;
        }
        if (pathColumn != null) {
            return LabelFormat.GENERIC;
        }
        if (header.contains("Path")) {
            return LabelFormat.CHEXPERT;
        }
        throw new DatasetException(file + " line 1: cannot tell the label format from the header " + header + ": expected CheXpert "
                + "(Path and label columns), NIH ChestX-ray14 (Image Index, Finding Labels, Patient ID) or MIMIC-CXR-JPG (subject_id, "
                + "study_id and label columns); for another layout pass --label-format generic --path-column COLUMN");
    }

    /** Reads the set; warnings (a label with no positive image) go to {@code warnings}. */
    public static LabeledSet read(CsvLabelSpec spec, Consumer<String> warnings) {
        CsvRows csv = CsvRows.read(spec.labels());
        csv.columns();
        LabelFormat format = spec.format() == null || spec.format() == LabelFormat.AUTO
                ? detect(spec.labels(), csv.header(), spec.pathColumn()) : spec.format();
        Raw raw = switch (format) {
            case CHEXPERT -> chexpert(csv, spec);
            case NIH -> NihLabels.read(csv, spec);
            case MIMIC -> MimicLabels.read(csv, spec, warnings);
            case GENERIC -> generic(csv, spec);
            case AUTO -> throw new IllegalStateException();
        };
        return select(raw, spec, warnings);
    }

    private static Raw chexpert(CsvRows csv, CsvLabelSpec spec) {
        int path = csv.require("Path", "the image path of each row");
        int patientCol = spec.patientColumn() != null ? csv.require(spec.patientColumn(), "--patient-column")
                : csv.header().indexOf("Patient"); // not in CheXpert's files; Graft's demo set has it
        List<Integer> cols = new ArrayList<>();
        for (int i = 0; i < csv.header().size(); i++) {
            if (!CHEXPERT_OTHER.contains(csv.header().get(i)) && i != patientCol) {
                cols.add(i);
            }
        }
        List<Entry> out = new ArrayList<>();
        for (Row row : csv.rows()) {
            String rel = row.cells()[path].trim();
            String patient = patientCol >= 0 ? blankToNull(row.cells()[patientCol]) : chexpertPatient(rel);
            out.add(new Entry(resolve(spec.images(), rel, csv, row), values(csv, row, cols, spec.policy()), patient, csv.source(row), csv.at(row)));
        }
        return new Raw("CheXpert", names(csv, cols), out);
    }

    /** The {@code patientNNNNN} folder of a CheXpert path, or null. */
    static String chexpertPatient(String path) {
        Matcher m = CHEXPERT_PATIENT.matcher(path);
        return m.find() ? m.group(1) : null;
    }

    private static Raw generic(CsvRows csv, CsvLabelSpec spec) {
        if (spec.pathColumn() == null) {
            throw new DatasetException(csv.file() + ": the generic format needs --path-column, the column holding each image's path; "
                    + "the header has " + csv.header());
        }
        int path = csv.require(spec.pathColumn(), "--path-column");
        int patientCol = spec.patientColumn() == null ? -1 : csv.require(spec.patientColumn(), "--patient-column");
        List<Integer> cols = new ArrayList<>();
        if (spec.labelColumns() != null) {
            for (String c : spec.labelColumns()) {
                cols.add(csv.require(c, "--label-columns"));
            }
        } else {
            for (int i = 0; i < csv.header().size(); i++) {
                if (i != path && i != patientCol && numeric(csv, i)) {
                    cols.add(i);
                }
            }
        }
        if (cols.isEmpty()) {
            throw new DatasetException(csv.file() + ": no label column: name them with --label-columns A,B,C; the header has " + csv.header());
        }
        List<Entry> out = new ArrayList<>();
        for (Row row : csv.rows()) {
            out.add(new Entry(resolve(spec.images(), row.cells()[path].trim(), csv, row), values(csv, row, cols, spec.policy()),
                    patientCol < 0 ? null : blankToNull(row.cells()[patientCol]), csv.source(row), csv.at(row)));
        }
        return new Raw("generic", names(csv, cols), out);
    }

    /** Whether every non-blank field of a column is a number. */
    private static boolean numeric(CsvRows csv, int col) {
        for (Row row : csv.rows()) {
            String v = row.cells()[col].trim();
            if (!v.isEmpty()) {
                try {
                    Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    return false;
                }
            }
        }
        return true;
    }

    static float[] values(CsvRows csv, Row row, List<Integer> cols, LabelPolicy policy) {
        float[] t = new float[cols.size()];
        for (int k = 0; k < t.length; k++) {
            t[k] = policy.target(row.cells()[cols.get(k)], csv.at(row), csv.header().get(cols.get(k)));
        }
        return t;
    }

    static List<String> names(CsvRows csv, List<Integer> cols) {
        return cols.stream().map(csv.header()::get).toList();
    }

    static String blankToNull(String s) {
        return s == null || s.trim().isEmpty() ? null : s.trim();
    }

    /** ROOT/PATH, else ROOT/PATH-without-its-first-folder (see the class comment); an absolute PATH as it is. */
    static Path resolve(Path root, String rel, CsvRows csv, Row row) {
        if (rel.isEmpty()) {
            throw new DatasetException(csv.at(row) + ": the image path is empty");
        }
        Path p;
        try {
            p = Path.of(rel);
        } catch (java.nio.file.InvalidPathException e) {
            throw new DatasetException(csv.at(row) + ": the image path '" + rel + "' is not a valid file path here ("
                    + e.getReason() + ")");
        }
        if (p.isAbsolute()) {
            if (!java.nio.file.Files.isRegularFile(p)) {
                throw new DatasetException(csv.at(row) + ": missing image file " + p);
            }
            return p;
        }
        Path direct = root.resolve(p);
        if (java.nio.file.Files.isRegularFile(direct)) {
            return direct;
        }
        if (p.getNameCount() > 1) {
            Path inner = root.resolve(p.subpath(1, p.getNameCount()));
            if (java.nio.file.Files.isRegularFile(inner)) {
                return inner;
            }
            throw new DatasetException(csv.at(row) + ": missing image file " + rel + ": neither " + direct + " nor " + inner
                    + " exists; --images should be the folder the CSV's paths start from (or the first folder they name)");
        }
        throw new DatasetException(csv.at(row) + ": missing image file " + rel + ": " + direct + " does not exist; --images should "
                + "be the folder the CSV's paths start from");
    }

    /** Picks and orders the targets, checks for duplicates and an empty set, warns about labels with no positive. */
    private static LabeledSet select(Raw raw, CsvLabelSpec spec, Consumer<String> warnings) {
        if (raw.entries().isEmpty()) {
            throw new DatasetException(spec.labels() + ": no images: the file has a header but no rows");
        }
        int[] pick;
        List<String> labels;
        if (spec.targets() == null || spec.targets().isEmpty()) {
            labels = raw.labels();
            pick = new int[labels.size()];
            for (int k = 0; k < pick.length; k++) {
                pick[k] = k;
            }
        } else {
            labels = List.copyOf(spec.targets());
            pick = new int[labels.size()];
            Set<String> seen = new HashSet<>();
            for (int k = 0; k < pick.length; k++) {
                String t = labels.get(k);
                pick[k] = raw.labels().indexOf(t);
                if (pick[k] < 0) {
                    throw new DatasetException("--targets: '" + t + "' is not a label of " + spec.labels() + "; its labels are "
                            + String.join(", ", raw.labels()));
                }
                if (!seen.add(t)) {
                    throw new DatasetException("--targets names '" + t + "' twice");
                }
            }
        }
        Map<Path, String> paths = new HashMap<>();
        List<LabeledImage> images = new ArrayList<>();
        for (Entry e : raw.entries()) {
            String was = paths.put(e.file().toAbsolutePath().normalize(), e.source());
            if (was != null) {
                throw new DatasetException(e.at() + ": duplicate path: image " + e.file() + " is already listed at " + was + "; list each image once");
            }
            float[] t = new float[pick.length];
            for (int k = 0; k < pick.length; k++) {
                t[k] = e.targets()[pick[k]];
            }
            images.add(new LabeledImage(e.file(), t, e.patient(), e.source()));
        }
        LabeledSet set = new LabeledSet(labels, images, raw.format() + " CSV " + spec.labels());
        for (LabelCount c : LabelCount.of(set)) {
            if (c.positive() == 0) {
                warnings.accept("label " + c.label() + " has no positive image in " + spec.labels() + " (after --uncertain "
                        + spec.policy().uncertain().name().toLowerCase(java.util.Locale.ROOT) + " and --blank "
                        + spec.policy().blank().name().toLowerCase(java.util.Locale.ROOT) + "): its AUC cannot be computed");
            }
        }
        return set;
    }
}
