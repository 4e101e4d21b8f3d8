package dev.graft.tests.train;

import dev.graft.loaders.StateDicts;
import dev.graft.runtime.Classifier;
import dev.graft.runtime.Prediction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.graft.tests.train.TrainCommandTest.graft;
import static dev.graft.tests.train.TrainCommandTest.trainArgs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A class folder of .dcm files trains, and predict reads .dcm files and folders of them: the DICOM copies of the
 * synthetic PNGs (same values, half of them MONOCHROME1, see {@link DicomBytes}) must give exactly the PNGs' predictions,
 * in {@code graft predict} and in the runtime's {@link Classifier}; {@code graft explain} draws a .dcm.
 */
class DicomTrainPredictTest {
    @Test
    void dicomFoldersTrainAndPredictAsTheSamePngsDo(@TempDir Path dir) throws IOException {
        Path png = SyntheticImages.folder(dir.resolve("png"), 5, 8, 8);
        Path dcm = dir.resolve("dcm");
        List<Path> pngs;
        try (Stream<Path> s = Files.walk(png)) {
            pngs = s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
        }
        List<Path> dcms = new ArrayList<>();
        for (int i = 0; i < pngs.size(); i++) {
            Path p = pngs.get(i);
            BufferedImage img = ImageIO.read(p.toFile());
            int w = img.getWidth();
            int[] gray = img.getRaster().getSamples(0, 0, w, img.getHeight(), 0, (int[]) null);
            Path d = dcm.resolve(png.relativize(p).toString().replace(".png", ".dcm"));
            Files.createDirectories(d.getParent());
            dcms.add(Files.write(d, DicomBytes.gray8(gray, w, i % 2 == 1)));
        }

        Path run = dir.resolve("run");
        TrainCommandTest.Run r = graft(trainArgs(dcm, run, "cpu", "--head-epochs", "1", "--finetune-epochs", "0").toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals("[\"horizontal\",\"vertical\"]", StateDicts.read(run.resolve("best.safetensors")).metadata().get("graft.classes"));

        Path model = run.resolve("best.safetensors");
        TrainCommandTest.Run fromPng = graft("predict", "--model", model.toString(), "--device", "cpu", png.toString());
        TrainCommandTest.Run fromDcm = graft("predict", "--model", model.toString(), "--device", "cpu", dcm.toString());
        assertEquals(0, fromPng.code(), fromPng.out() + fromPng.err());
        assertEquals(0, fromDcm.code(), fromDcm.out() + fromDcm.err());
        List<String> a = fromPng.out().lines().toList();
        List<String> b = fromDcm.out().lines().toList();
        assertEquals(a.size(), b.size(), fromDcm.out());
        int rows = 0;
        for (int i = 0; i < a.size(); i++) {
            // The same pixels give the same row, up to the path: x.png in one, x.dcm in the other.
            assertEquals(a.get(i).replace(png.toString(), "ROOT").replace(".png", ".x"),
                    b.get(i).replace(dcm.toString(), "ROOT").replace(".dcm", ".x"), "row " + i);
            rows += b.get(i).contains(".dcm") ? 1 : 0;
        }
        assertEquals(dcms.size(), rows, fromDcm.out());
        assertTrue(fromDcm.err().isBlank(), fromDcm.err());

        // explain takes a .dcm file like any image: one heat map per file.
        Path cams = dir.resolve("cams");
        TrainCommandTest.Run explain = graft("explain", "--model", model.toString(), dcms.get(0).toString(), "--out", cams.toString(),
                "--device", "cpu");
        assertEquals(0, explain.code(), explain.out() + explain.err());
        assertTrue(Files.size(cams.resolve(dcms.get(0).getFileName() + ".cam.png")) > 0, explain.out());

        // The runtime's Classifier reads image files through the same decoder: a .dcm classifies as its PNG does.
        try (Classifier c = Classifier.load(model, Classifier.Options.defaults().withDevice("reference"))) {
            for (int i = 0; i < dcms.size(); i++) {
                Prediction fromFile = c.classify(dcms.get(i));
                assertArrayEquals(c.classify(pngs.get(i)).probabilities(), fromFile.probabilities(), dcms.get(i).toString());
            }
        }
    }
}
