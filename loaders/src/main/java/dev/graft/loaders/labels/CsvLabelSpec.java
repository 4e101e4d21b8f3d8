package dev.graft.loaders.labels;

import java.nio.file.Path;
import java.util.List;

/**
 * What to read: a label CSV and the folder its image paths are relative to, with the format and column choices of
 * {@code graft train --labels}.
 *
 * @param labels        the label CSV
 * @param images        the image root
 * @param format        the layout, or AUTO
 * @param metadata      MIMIC-CXR-JPG's metadata CSV (dicom_id -> subject_id, study_id), or null
 * @param pathColumn    the image path column (generic sets; overrides the format's), or null
 * @param labelColumns  the label columns (generic sets), or null for every other column holding only numbers or blanks
 * @param patientColumn the patient id column (overrides the format's), or null
 * @param policy        how -1 and blank become targets
 * @param targets       the labels to keep, in this order, or null for all of the set's labels in their order
 */
public record CsvLabelSpec(Path labels, Path images, LabelFormat format, Path metadata, String pathColumn,
                           List<String> labelColumns, String patientColumn, LabelPolicy policy, List<String> targets) {

    /** A spec for a CSV in an auto-detected format with default policies. */
    public static CsvLabelSpec of(Path labels, Path images) {
        return new CsvLabelSpec(labels, images, LabelFormat.AUTO, null, null, null, null, LabelPolicy.DEFAULT, null);
    }

    /** The same spec for another CSV (a validation or test CSV in the same format, against the same image root). */
    public CsvLabelSpec withLabels(Path other) {
        return new CsvLabelSpec(other, images, format, metadata, pathColumn, labelColumns, patientColumn, policy, targets);
    }
}
