package dev.graft.loaders.labels;

import dev.graft.loaders.images.DatasetException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The label CSV formats on small hand-made files. Expected targets are written from each format's definition (1
 * positive, 0 negative, -1 uncertain, blank not mentioned; NIH: a finding named in Finding Labels is positive, every
 * other one negative), not from the reader's output.
 */
class CsvLabelsTest {
    private static final float N = Float.NaN;
    @TempDir
    Path dir;

    private Path csv(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private Path image(String rel) throws IOException {
        Path p = dir.resolve(rel);
        Files.createDirectories(p.getParent());
        Files.write(p, new byte[] {1});
        return p;
    }

    private static final String CHEX_HEADER = "Path,Sex,Age,Frontal/Lateral,AP/PA," + String.join(",", CsvLabels.CHEXPERT_LABELS) + "\n";

    private Path chexpert() throws IOException {
        image("root/CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg");
        image("root/CheXpert-v1.0-small/train/patient00001/study1/view2_lateral.jpg");
        image("root/CheXpert-v1.0-small/train/patient00002/study1/view1_frontal.jpg");
        // columns: No Finding, Enl. Card., Cardiomegaly, Lung Opacity, Lung Lesion, Edema, Consolidation, Pneumonia,
        // Atelectasis, Pneumothorax, Pleural Effusion, Pleural Other, Fracture, Support Devices
        return csv("train.csv", CHEX_HEADER
                + "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Female,68,Frontal,AP,1.0,,,,,,,,,0.0,,,,1.0\n"
                + "CheXpert-v1.0-small/train/patient00001/study1/view2_lateral.jpg,Female,68,Lateral,,,,-1.0,1.0,,-1.0,,,,,0.0,,,\n"
                + "CheXpert-v1.0-small/train/patient00002/study1/view1_frontal.jpg,Male,87,Frontal,AP,,,,1,,0,,,,,-1,,1,\n");
    }

    private static float[] t(float... v) {
        return v;
    }

    @Test
    void chexpertDefaultsIgnoreUncertainAndCountBlankAsNegative() throws IOException {
        LabeledSet s = CsvLabels.read(CsvLabelSpec.of(chexpert(), dir.resolve("root")), w -> { });
        assertEquals(CsvLabels.CHEXPERT_LABELS, s.labels());
        assertEquals(3, s.images().size());
        assertArrayEquals(t(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), s.images().get(0).targets());
        assertArrayEquals(t(0, 0, N, 1, 0, N, 0, 0, 0, 0, 0, 0, 0, 0), s.images().get(1).targets());
        assertArrayEquals(t(0, 0, 0, 1, 0, 0, 0, 0, 0, 0, N, 0, 1, 0), s.images().get(2).targets());
        assertEquals("patient00001", s.images().get(1).patient());
        assertEquals("patient00002", s.images().get(2).patient());
        assertEquals("train.csv line 3", s.images().get(1).source());
        assertTrue(Files.isRegularFile(s.images().get(0).path()));
    }

    @Test
    void chexpertRootMayBeTheDataSetFolderItself() throws IOException {
        LabeledSet s = CsvLabels.read(CsvLabelSpec.of(chexpert(), dir.resolve("root/CheXpert-v1.0-small")), w -> { });
        assertEquals(dir.resolve("root/CheXpert-v1.0-small/train/patient00002/study1/view1_frontal.jpg"), s.images().get(2).path());
    }

    private static CsvLabelSpec policy(CsvLabelSpec s, LabelPolicy.Uncertain u, LabelPolicy.Blank b, List<String> targets) {
        return new CsvLabelSpec(s.labels(), s.images(), s.format(), s.metadata(), s.pathColumn(), s.labelColumns(), s.patientColumn(),
                new LabelPolicy(u, b), targets);
    }

    @Test
    void policiesAndTargets() throws IOException {
        CsvLabelSpec base = CsvLabelSpec.of(chexpert(), dir.resolve("root"));
        List<String> targets = List.of("Edema", "Cardiomegaly", "No Finding");
        LabeledSet ones = CsvLabels.read(policy(base, LabelPolicy.Uncertain.ONES, LabelPolicy.Blank.IGNORE, targets), w -> { });
        assertEquals(targets, ones.labels());
        assertArrayEquals(t(N, N, 1), ones.images().get(0).targets());
        assertArrayEquals(t(1, 1, N), ones.images().get(1).targets());
        assertArrayEquals(t(0, N, N), ones.images().get(2).targets());
        LabeledSet zeros = CsvLabels.read(policy(base, LabelPolicy.Uncertain.ZEROS, LabelPolicy.Blank.ZEROS, targets), w -> { });
        assertArrayEquals(t(0, 0, 0), zeros.images().get(1).targets());
        DatasetException e = assertThrows(DatasetException.class,
                () -> CsvLabels.read(policy(base, LabelPolicy.Uncertain.IGNORE, LabelPolicy.Blank.ZEROS, List.of("Edema", "Effusion")), w -> { }));
        assertTrue(e.getMessage().contains("'Effusion' is not a label") && e.getMessage().contains("Pleural Effusion"), e.getMessage());
    }

    @Test
    void countsAndTheNoPositiveWarning() throws IOException {
        List<String> warnings = new ArrayList<>();
        LabeledSet s = CsvLabels.read(CsvLabelSpec.of(chexpert(), dir.resolve("root")), warnings::add);
        LabelCount edema = LabelCount.of(s).get(5);
        assertEquals(new LabelCount("Edema", 0, 2, 1), edema); // rows: blank, -1, 0
        // labels with no 1 in any row: Enlarged Cardiomediastinum, Cardiomegaly, Lung Lesion, Edema, Consolidation,
        // Pneumonia, Atelectasis, Pneumothorax, Pleural Effusion, Pleural Other -> 10 warnings
        assertEquals(10, warnings.size(), warnings.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("label Edema has no positive image")), warnings.toString());
    }

    @Test
    void aPatientColumnOverridesThePathsPatientFolder() throws IOException {
        image("root/CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg");
        Path f = csv("p.csv", "Path,Sex,Age,Frontal/Lateral,AP/PA,Edema,Subject\n"
                + "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Male,50,Frontal,PA,1.0,S9\n");
        CsvLabelSpec spec = new CsvLabelSpec(f, dir.resolve("root"), LabelFormat.CHEXPERT, null, null, null, "Subject", LabelPolicy.DEFAULT, null);
        LabeledSet s = CsvLabels.read(spec, w -> { });
        assertEquals(List.of("Edema"), s.labels()); // the patient column is not a label
        assertEquals("S9", s.images().get(0).patient());
        assertEquals("patient00001", CsvLabels.chexpertPatient("CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg"));
        assertNull(CsvLabels.chexpertPatient("task/train/shirt/00077.png"));
        // without --patient-column, Subject is read as a label and its value is refused
        DatasetException e = assertThrows(DatasetException.class, () -> CsvLabels.read(CsvLabelSpec.of(f, dir.resolve("root")), w -> { }));
        assertTrue(e.getMessage().contains("unknown value \"S9\" in column Subject"), e.getMessage());
    }

    @Test
    void nihFindingsAndImageFolders() throws IOException {
        image("nih/images_001/images/00000001_000.png");
        image("nih/images_002/images/00000001_001.png");
        image("nih/images/00000002_000.png");
        Path f = csv("Data_Entry_2017.csv", "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age\n"
                + "00000001_000.png,Cardiomegaly|Effusion,0,1,58\n"
                + "00000001_001.png,No Finding,1,1,58\n"
                + "00000002_000.png,Hernia|Atelectasis|Pleural_Thickening,0,2,81\n");
        LabeledSet s = CsvLabels.read(CsvLabelSpec.of(f, dir.resolve("nih")), w -> { });
        assertEquals(CsvLabels.NIH_LABELS, s.labels());
        // order: Atelectasis, Cardiomegaly, Effusion, Infiltration, Mass, Nodule, Pneumonia, Pneumothorax,
        // Consolidation, Edema, Emphysema, Fibrosis, Pleural_Thickening, Hernia
        assertArrayEquals(t(0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), s.images().get(0).targets());
        assertArrayEquals(new float[14], s.images().get(1).targets());
        assertArrayEquals(t(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1), s.images().get(2).targets());
        assertEquals("1", s.images().get(1).patient());
        assertEquals(dir.resolve("nih/images_002/images/00000001_001.png"), s.images().get(1).path());
        assertEquals(dir.resolve("nih/images/00000002_000.png"), s.images().get(2).path());
    }

    @Test
    void mimicJoinsLabelsAndMetadata() throws IOException {
        image("mimic/files/p10/p10000032/s50414267/02aa804e.jpg");
        image("mimic/files/p10/p10000032/s50414267/174413ec.jpg");
        image("mimic/files/p11/p11000011/s51029426/3a2e8b8f.jpg");
        Path labels = csv("mimic-cxr-2.0.0-chexpert.csv", "subject_id,study_id,Atelectasis,Cardiomegaly,Edema,No Finding\n"
                + "10000032,50414267,,1.0,-1.0,\n"
                + "11000011,51029426,0.0,,,1.0\n");
        Path meta = csv("mimic-cxr-2.0.0-metadata.csv", "dicom_id,subject_id,study_id,ViewPosition\n"
                + "02aa804e,10000032,50414267,PA\n"
                + "174413ec,10000032,50414267,LATERAL\n"
                + "3a2e8b8f,11000011,51029426,AP\n"
                + "ffffffff,12000000,52000000,AP\n");
        List<String> warnings = new ArrayList<>();
        CsvLabelSpec spec = new CsvLabelSpec(labels, dir.resolve("mimic"), LabelFormat.AUTO, meta, null, null, null, LabelPolicy.DEFAULT, null);
        LabeledSet s = CsvLabels.read(spec, warnings::add);
        assertEquals(List.of("Atelectasis", "Cardiomegaly", "Edema", "No Finding"), s.labels());
        assertEquals(3, s.images().size());
        assertArrayEquals(t(0, 1, N, 0), s.images().get(1).targets());
        assertArrayEquals(t(0, 0, 0, 1), s.images().get(2).targets());
        assertEquals("10000032", s.images().get(0).patient());
        assertEquals(dir.resolve("mimic/files/p11/p11000011/s51029426/3a2e8b8f.jpg"), s.images().get(2).path());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("1 images in")), warnings.toString());
    }

    @Test
    void mimicWithoutMetadataOrPathIsAnError() throws IOException {
        Path labels = csv("m.csv", "subject_id,study_id,Edema\n1,2,1\n");
        DatasetException e = assertThrows(DatasetException.class, () -> CsvLabels.read(CsvLabelSpec.of(labels, dir), w -> { }));
        assertTrue(e.getMessage().contains("--metadata"), e.getMessage());
    }

    @Test
    void genericTakesNumericColumnsOrTheNamedOnes() throws IOException {
        image("g/a.png");
        image("g/b.png");
        Path f = csv("g.csv", "file,case,note,Cat,Dog\na.png,c1,hello,1,\nb.png,c2,x,0,-1\n");
        CsvLabelSpec spec = new CsvLabelSpec(f, dir.resolve("g"), LabelFormat.AUTO, null, "file", null, "case", LabelPolicy.DEFAULT, null);
        LabeledSet s = CsvLabels.read(spec, w -> { });
        assertEquals(List.of("Cat", "Dog"), s.labels()); // "note" holds text, "case" is the patient
        assertArrayEquals(t(0, N), s.images().get(1).targets());
        assertEquals("c2", s.images().get(1).patient());
        CsvLabelSpec named = new CsvLabelSpec(f, dir.resolve("g"), LabelFormat.GENERIC, null, "file", List.of("Dog"), null, LabelPolicy.DEFAULT, null);
        LabeledSet d = CsvLabels.read(named, w -> { });
        assertEquals(List.of("Dog"), d.labels());
        assertNull(d.images().get(0).patient());
    }

    private String error(String text) throws IOException {
        image("e/a.png");
        image("e/b.png");
        Path f = csv("bad.csv", text);
        return assertThrows(DatasetException.class, () -> CsvLabels.read(CsvLabelSpec.of(f, dir.resolve("e")), w -> { })).getMessage();
    }

    @Test
    void errorsNameTheFileAndLine() throws IOException {
        String f = dir.resolve("bad.csv").toString();
        String missing = error("Path,Edema\na.png,1\nc/d.png,0\n");
        assertTrue(missing.startsWith(f + " line 3: missing image file c/d.png"), missing);
        String value = error("Path,Edema\na.png,1\nb.png,2.0\n");
        assertTrue(value.startsWith(f + " line 3: unknown value \"2.0\" in column Edema"), value);
        String count = error("Path,Edema\na.png,1,0\n");
        assertTrue(count.startsWith(f + " line 2: malformed row: 3 fields where the header has 2"), count);
        String quote = error("Path,Edema\na.png,1\n\"b.png,0\n");
        assertTrue(quote.startsWith(f + " line 3") && quote.contains("malformed CSV"), quote);
        String dup = error("Path,Edema\na.png,1\nb.png,0\na.png,0\n");
        assertTrue(dup.startsWith(f + " line 4: duplicate path") && dup.contains("bad.csv line 2"), dup);
        String column = error("Image Index,Finding Labels\na.png,Edema\n");
        assertTrue(column.startsWith(f + " line 1: missing required column 'Patient ID'"), column);
        String empty = error("Path,Edema\n");
        assertTrue(empty.contains("no images"), empty);
        String unknown = error("Image Index,Finding Labels,Patient ID\na.png,Edema|Flu,1\n");
        assertTrue(unknown.startsWith(f + " line 2: unknown value \"Flu\" in column Finding Labels"), unknown);
        String format = error("file,Edema\na.png,1\n");
        assertTrue(format.contains("cannot tell the label format"), format);
        // A NUL character cannot be in a file path on this platform: Path.of throws InvalidPathException, which must
        // come out as the typed error naming the line, not as an internal error.
        String nul = error("Path,Edema\na.png,1\nb\u0000.png,0\n");
        assertTrue(nul.startsWith(f + " line 3: the image path") && nul.contains("not a valid file path"), nul);
    }

    @Test
    void aMissingRequiredColumnIsNamed() throws IOException {
        image("e/a.png");
        Path f = csv("g.csv", "file,Edema\na.png,1\n");
        CsvLabelSpec spec = new CsvLabelSpec(f, dir.resolve("e"), LabelFormat.GENERIC, null, "image", null, null, LabelPolicy.DEFAULT, null);
        String m = assertThrows(DatasetException.class, () -> CsvLabels.read(spec, w -> { })).getMessage();
        assertTrue(m.startsWith(f + " line 1: missing required column 'image'"), m);
    }

    @Test
    void quotedFieldsFollowRfc4180() throws IOException {
        image("q/a, b.png");
        Path f = csv("q.csv", "Path,\"Lung, Opacity\"\r\n\"a, b.png\",\"1\"\r\n");
        LabeledSet s = CsvLabels.read(CsvLabelSpec.of(f, dir.resolve("q")), w -> { });
        assertEquals(List.of("Lung, Opacity"), s.labels());
        assertEquals(dir.resolve("q/a, b.png"), s.images().get(0).path());
    }
}
