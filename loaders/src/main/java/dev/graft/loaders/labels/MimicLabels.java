package dev.graft.loaders.labels;

import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.labels.CsvRows.Row;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** MIMIC-CXR-JPG's per-study label CSV, joined with its metadata CSV or carrying a path column (see {@link CsvLabels}). */
final class MimicLabels {
    private MimicLabels() {
    }

    static CsvLabels.Raw read(CsvRows csv, CsvLabelSpec spec, Consumer<String> warnings) {
        int subject = csv.require("subject_id", "the patient");
        int study = csv.require("study_id", "the study");
        int patientCol = spec.patientColumn() != null ? csv.require(spec.patientColumn(), "--patient-column") : subject;
        List<Integer> cols = new ArrayList<>();
        for (int i = 0; i < csv.header().size(); i++) {
            if (CsvLabels.CHEXPERT_LABELS.contains(csv.header().get(i))) {
                cols.add(i);
            }
        }
        if (cols.isEmpty()) {
            throw new DatasetException(csv.file() + " line 1: no label column: MIMIC-CXR-JPG's label files have CheXpert's columns "
                    + CsvLabels.CHEXPERT_LABELS + "; the header has " + csv.header());
        }
        List<CsvLabels.Entry> out = new ArrayList<>();
        if (spec.metadata() == null) {
            String pc = spec.pathColumn() != null ? spec.pathColumn() : csv.header().contains("path") ? "path"
                    : csv.header().contains("Path") ? "Path" : null;
            if (pc == null) {
                throw new DatasetException(csv.file() + ": MIMIC-CXR-JPG labels are per study (subject_id, study_id) and name no "
                        + "image; pass --metadata mimic-cxr-2.0.0-metadata.csv (dicom_id -> study) or a CSV with a path column (--path-column)");
            }
            int path = csv.require(pc, "the image path of each row");
            for (Row row : csv.rows()) {
                out.add(new CsvLabels.Entry(CsvLabels.resolve(spec.images(), row.cells()[path].trim(), csv, row), CsvLabels.values(csv, row, cols, spec.policy()),
                        CsvLabels.blankToNull(row.cells()[patientCol]), csv.source(row), csv.at(row)));
            }
            return new CsvLabels.Raw("MIMIC-CXR-JPG", CsvLabels.names(csv, cols), out);
        }
        Map<String, Row> studies = new HashMap<>();
        for (Row row : csv.rows()) {
            Row was = studies.put(row.cells()[subject].trim() + "/" + row.cells()[study].trim(), row);
            if (was != null) {
                throw new DatasetException(csv.at(row) + ": study " + row.cells()[study].trim() + " of subject " + row.cells()[subject].trim()
                        + " is labelled twice (first at line " + was.line() + ")");
            }
        }
        CsvRows meta = CsvRows.read(spec.metadata());
        int dicom = meta.require("dicom_id", "the image id");
        int mSubject = meta.require("subject_id", "the patient");
        int mStudy = meta.require("study_id", "the study");
        int unlabelled = 0;
        for (Row m : meta.rows()) {
            String s = m.cells()[mSubject].trim();
            Row labels = studies.get(s + "/" + m.cells()[mStudy].trim());
            if (labels == null) {
                unlabelled++;
                continue;
            }
            if (s.length() < 2) {
                throw new DatasetException(meta.at(m) + ": subject_id '" + s + "' is too short for MIMIC's files/pXX/ folders");
            }
            String rel = "files/p" + s.substring(0, 2) + "/p" + s + "/s" + m.cells()[mStudy].trim() + "/" + m.cells()[dicom].trim() + ".jpg";
            out.add(new CsvLabels.Entry(CsvLabels.resolve(spec.images(), rel, meta, m), CsvLabels.values(csv, labels, cols, spec.policy()),
                    CsvLabels.blankToNull(labels.cells()[patientCol]), meta.source(m), meta.at(m)));
        }
        if (unlabelled > 0) {
            warnings.accept(unlabelled + " images in " + spec.metadata() + " belong to studies with no row in " + spec.labels()
                    + " and are left out");
        }
        return new CsvLabels.Raw("MIMIC-CXR-JPG", CsvLabels.names(csv, cols), out);
    }
}
