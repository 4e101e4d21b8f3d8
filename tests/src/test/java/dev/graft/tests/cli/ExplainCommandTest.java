package dev.graft.tests.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.Device;
import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.ResNet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static dev.graft.tests.cli.Cli.args;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft explain} and {@code graft predict --cam}: which pictures are written where, and the errors users can cause. */
class ExplainCommandTest {
    @TempDir
    Path tmp;

    /** The narrow two-class model of DecisionFixtures with 64x64 preprocessing, so layer4's map is 2x2, not 1x1. */
    private Path model() throws IOException {
        Path file = tmp.resolve("model.safetensors");
        try (ResNet m = ResNet.builder(DecisionFixtures.TINY).device(Device.REFERENCE).seed(3).build()) {
            StateDict state = m.stateDict();
            state.metadata().putAll(m.metadata());
            state.metadata().putAll(Preprocessing.imagenet(64).toMetadata());
            state.metadata().put("graft.classes", DecisionFixtures.CLASSES_JSON);
            SafeTensors.write(file, state);
        }
        return file;
    }

    /**
     * graft evaluate's top-loss gallery draws the heat map by default: on this random 64-pixel model (layer4 2x2)
     * some thumbnails differ from --no-cam's, and every one that differs is (1 - alpha) x the plain thumbnail +
     * alpha x a jet colour within 8-bit rounding (dividing out alpha: at most 0.5 / 0.45 + 0.5 per channel, so 2).
     */
    @Test
    void evaluateGalleryCarriesHeatMapsUnlessNoCam() throws IOException {
        Path m = model();
        Path data = tmp.resolve("labelled");
        java.util.Random r = new java.util.Random(5);
        for (String cls : List.of("normal", "pneumonia")) {
            java.nio.file.Files.createDirectories(data.resolve(cls));
            for (int i = 0; i < 4; i++) {
                java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(72, 72, java.awt.image.BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 72; y++) {
                    for (int x = 0; x < 72; x++) {
                        img.setRGB(x, y, r.nextInt(1 << 24));
                    }
                }
                javax.imageio.ImageIO.write(img, "png", data.resolve(cls).resolve(i + ".png").toFile());
            }
        }
        Path cam = tmp.resolve("eval-cam"), plain = tmp.resolve("eval-plain");
        Cli.ok("evaluate", "--model", m, "--data", data, "--out", cam, "--device", "reference", "--no-progress", "--top-losses", 8);
        Cli.ok("evaluate", "--model", m, "--data", data, "--out", plain, "--device", "reference", "--no-progress", "--top-losses", 8,
                "--no-cam");
        double a = dev.graft.train.CamOverlay.ALPHA;
        int drawn = 0;
        for (int k = 1; k <= 8; k++) {
            String name = String.format(java.util.Locale.ROOT, "top-losses/%02d.png", k);
            java.awt.image.BufferedImage c = javax.imageio.ImageIO.read(cam.resolve(name).toFile());
            java.awt.image.BufferedImage p = javax.imageio.ImageIO.read(plain.resolve(name).toFile());
            boolean differs = false;
            for (int y = 0; y < c.getHeight() && !differs; y++) {
                for (int x = 0; x < c.getWidth() && !differs; x++) {
                    differs = c.getRGB(x, y) != p.getRGB(x, y);
                }
            }
            if (!differs) {
                continue; // a map with no positive cell is left plain
            }
            drawn++;
            for (int y = 0; y < c.getHeight(); y += 4) {
                for (int x = 0; x < c.getWidth(); x += 4) {
                    double best = Double.MAX_VALUE;
                    for (int j = 0; j <= 1023; j++) {
                        int jet = dev.graft.explain.ColorMap.jetRgb(j / 1023.0);
                        double d = 0;
                        for (int shift = 16; shift >= 0; shift -= 8) {
                            double heat = (((c.getRGB(x, y) >> shift) & 0xff) - (1 - a) * ((p.getRGB(x, y) >> shift) & 0xff)) / a;
                            d = Math.max(d, Math.abs(heat - ((jet >> shift) & 0xff)));
                        }
                        best = Math.min(best, d);
                    }
                    assertTrue(best <= 2, name + " pixel " + x + "," + y + " is no jet blend over the plain thumbnail (" + best + " off)");
                }
            }
        }
        assertTrue(drawn > 0, "no thumbnail of 8 carries a heat map");
    }

    private static List<Path> pictures(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.toString().endsWith(".cam.png")).sorted().toList();
        }
    }

    @Test
    void aFolderIsSearchedRecursivelyAndItsSubFoldersKept() throws IOException {
        Path data = tmp.resolve("data");
        DecisionFixtures.images(data.resolve("a"), 1);
        DecisionFixtures.images(data.resolve("a").resolve("b"), 1);
        DecisionFixtures.images(data, 1);
        Files.writeString(data.resolve("notes.txt"), "not an image, skipped in a folder");
        Path out = tmp.resolve("cams");
        Cli.Run r = Cli.ok("explain", "--model", model(), data, "--out", out, "--device", "reference");
        assertEquals(List.of(out.resolve("a/b/img00.png.cam.png"), out.resolve("a/img00.png.cam.png"),
                out.resolve("img00.png.cam.png")), pictures(out), r.toString());
        assertTrue(r.out().contains("wrote 3 pictures"), r.out());
        BufferedImage pic = ImageIO.read(out.resolve("img00.png.cam.png").toFile());
        assertNotNull(pic);
        // 64x64 input enlarged 5x to 320, plus the colour bar beside it and two caption lines below
        assertTrue(pic.getWidth() > 320 + 16 && pic.getHeight() > 320 + 20, pic.getWidth() + "x" + pic.getHeight());
        try (Stream<Path> s = Files.list(out)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "a temporary file was left behind");
        }
    }

    @Test
    void anOutputFolderInsideTheInputIsNotExplainedAgain() throws IOException {
        Path data = tmp.resolve("data");
        DecisionFixtures.images(data, 2);
        Path out = data.resolve("cams");
        Path m = model();
        Cli.ok("explain", "--model", m, data, "--out", out, "--device", "reference");
        Cli.Run again = Cli.ok("explain", "--model", m, data, "--out", out, "--device", "reference");
        assertTrue(again.out().contains("wrote 2 pictures"), again.out());
        assertEquals(2, pictures(out).size());
    }

    @Test
    void aClassAndGradCamPlusPlusCanBeChosenAndFilesWithOneNameDoNotCollide() throws IOException {
        List<Path> one = DecisionFixtures.images(tmp.resolve("d1"), 1);
        List<Path> two = DecisionFixtures.images(tmp.resolve("d2"), 1);
        Path out = tmp.resolve("cams");
        Cli.ok("explain", "--model", model(), one.get(0), two.get(0), "--out", out, "--class", "pneumonia",
                "--method", "gradcam++", "--device", "reference");
        assertEquals(List.of(out.resolve("img00.png-2.cam.png"), out.resolve("img00.png.cam.png")), pictures(out));
    }

    @Test
    void anUnreadableImageIsReportedAndTheOthersAreStillExplained() throws IOException {
        List<Path> good = DecisionFixtures.images(tmp.resolve("d"), 1);
        Path fake = tmp.resolve("fake.png");
        Files.writeString(fake, "this is text, not a PNG");
        Path out = tmp.resolve("cams");
        Cli.Run r = Cli.run("explain", "--model", model(), fake, good.get(0), tmp.resolve("missing.png"), "--out", out,
                "--device", "reference");
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("fake.png") && r.err().contains("missing.png"), r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
        assertEquals(List.of(out.resolve("img00.png.cam.png")), pictures(out));
    }

    @Test
    void badOptionsAreOneLineErrors() throws IOException {
        Path m = model();
        List<Path> img = DecisionFixtures.images(tmp.resolve("d"), 1);
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Cli.userError(args("explain", "--model", m, img.get(0), "--out", tmp.resolve("o"), "--class", "cat"),
                "--class 'cat' is not one of the model's classes", "normal", "pneumonia");
        Cli.userError(args("explain", "--model", m, img.get(0), "--out", file), "--out", "is a file, not a folder");
        Cli.userError(args("explain", "--model", m, img.get(0), "--out", tmp.resolve("o"), "--method", "lime"),
                "--method 'lime'", "gradcam, gradcam++");
        Cli.userError(args("explain", "--model", m, img.get(0), "--out", tmp.resolve("o"), "--alpha", "1.5"), "--alpha");
        Cli.userError(args("predict", "--model", m, img.get(0), "--cam", file), "--cam", "is a file, not a folder");
    }

    @Test
    void predictWritesTheSamePicturesAndKeepsItsOutputMachineReadable() throws IOException {
        List<Path> imgs = DecisionFixtures.images(tmp.resolve("d"), 3);
        Path out = tmp.resolve("cams");
        Cli.Run r = Cli.ok("predict", "--model", model(), imgs.get(0), imgs.get(1), imgs.get(2), "--cam", out,
                "--json", "--device", "reference");
        JsonNode rows = new ObjectMapper().readTree(r.out());
        assertEquals(3, rows.size());
        assertEquals(3, pictures(out).size());
        assertTrue(r.err().contains("wrote 3 heat maps"), r.err());
    }
}
