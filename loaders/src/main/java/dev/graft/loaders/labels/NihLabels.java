package dev.graft.loaders.labels;

import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.labels.CsvRows.Row;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** NIH ChestX-ray14's Data_Entry CSV (see {@link CsvLabels}): findings joined by |, images in ROOT or its images folders. */
final class NihLabels {
    private NihLabels() {
    }

    static CsvLabels.Raw read(CsvRows csv, CsvLabelSpec spec) {
        int image = csv.require("Image Index", "the image file name of each row");
        int findings = csv.require("Finding Labels", "the findings of each image, joined by |");
        int patientCol = spec.patientColumn() != null ? csv.require(spec.patientColumn(), "--patient-column")
                : csv.require("Patient ID", "the patient of each image");
        List<Path> roots = nihRoots(spec.images());
        List<CsvLabels.Entry> out = new ArrayList<>();
        for (Row row : csv.rows()) {
            float[] t = new float[CsvLabels.NIH_LABELS.size()];
            for (String f : row.cells()[findings].split("\\|")) {
                String name = f.trim();
                if (name.equals("No Finding") || name.isEmpty()) {
                    continue;
                }
                int k = CsvLabels.NIH_LABELS.indexOf(name);
                if (k < 0) {
                    throw new DatasetException(csv.at(row) + ": unknown value \"" + name + "\" in column Finding Labels; the findings are "
                            + String.join(", ", CsvLabels.NIH_LABELS) + " and No Finding, joined by |");
                }
                t[k] = 1f;
            }
            String name = row.cells()[image].trim();
            Path file = null;
            for (Path r : roots) {
                if (java.nio.file.Files.isRegularFile(r.resolve(name))) {
                    file = r.resolve(name);
                    break;
                }
            }
            if (file == null) {
                throw new DatasetException(csv.at(row) + ": missing image file " + name + ": not in " + roots
                        + "; --images should be the folder holding the images (or their images/ and images_NNN/images/ folders)");
            }
            out.add(new CsvLabels.Entry(file, t, patientCol < 0 ? null : CsvLabels.blankToNull(row.cells()[patientCol]), csv.source(row), csv.at(row)));
        }
        return new CsvLabels.Raw("NIH ChestX-ray14", CsvLabels.NIH_LABELS, out);
    }

    /** ROOT, ROOT/images and ROOT/images_* /images, in sorted order. */
    private static List<Path> nihRoots(Path root) {
        List<Path> roots = new ArrayList<>(List.of(root, root.resolve("images")));
        try (var s = java.nio.file.Files.list(root)) {
            s.filter(p -> p.getFileName().toString().startsWith("images_")).sorted().map(p -> p.resolve("images"))
                    .filter(java.nio.file.Files::isDirectory).forEach(roots::add);
        } catch (java.io.IOException e) {
            throw new DatasetException("cannot list the image folder " + root + ": " + e.getMessage(), e);
        }
        return roots;
    }
}
