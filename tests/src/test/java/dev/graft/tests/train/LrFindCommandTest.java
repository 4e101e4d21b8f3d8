package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.Device;
import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft lr-find} end to end on a generated image folder and a tiny network. */
class LrFindCommandTest {
    private static List<String> args(Path data, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("lr-find", "--data", data.toString(), "--out", out.toString(), "--image-size", "16",
                "--resize-size", "16", "--batch-size", "8", "--device", "cpu", "--no-progress", "--workers", "2", "--seed", "3"));
        a.addAll(List.of(extra));
        return a;
    }

    private static Path weights(Path file) {
        try (ResNet m = ResNet.builder(ResNetConfig.parse(TrainCommandTest.TINY)).device(Device.CPU).seed(5).build()) {
            StateDict s = m.stateDict();
            s.metadata().putAll(m.metadata());
            SafeTensors.write(file, s);
        }
        return file;
    }

    @Test
    void sweepsWritesTheCurveAndLeavesTheWeightsAlone(@TempDir Path dir) throws Exception {
        Path data = SyntheticImages.folder(dir.resolve("data"), 1, 24, 24);
        Path run = Files.createDirectories(dir.resolve("run"));
        Path w = weights(run.resolve("best.safetensors"));
        byte[] weightsBefore = Files.readAllBytes(w);
        var modified = Files.getLastModifiedTime(w);
        Path out = dir.resolve("lr");
        TrainCommandTest.Run r = TrainCommandTest.graft(args(data, out, "--weights", w.toString(), "--phase", "head",
                "--start-lr", "1e-5", "--end-lr", "1", "--iters", "20").toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("suggested learning rate: "), r.out());
        assertTrue(r.out().contains("valley") && r.out().contains("steepest") && r.out().contains("minimum/10"), r.out());

        assertArrayEquals(weightsBefore, Files.readAllBytes(w), "the weights file is only read");
        assertEquals(modified, Files.getLastModifiedTime(w));
        try (Stream<Path> files = Files.list(run)) {
            assertEquals(List.of(w), files.toList(), "nothing written beside the weights");
        }
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of("lr-find.json", "lr-find.png"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        BufferedImage png = ImageIO.read(out.resolve("lr-find.png").toFile());
        assertEquals(800, png.getWidth());

        JsonNode j = new ObjectMapper().readTree(out.resolve("lr-find.json").toFile());
        assertEquals("head", j.get("phase").asText());
        assertEquals("valley", j.get("suggestion_method").asText());
        int n = j.get("iterations_run").asInt();
        assertTrue(n >= 10 && n <= 20, "iterations run: " + n);
        double avg = 0;
        for (int i = 0; i < n; i++) {
            double lr = j.get("lr").get(i).asDouble();
            double closed = 1e-5 * Math.pow(1 / 1e-5, i / 19.0); // geometric from --start-lr to --end-lr over 20 steps
            assertEquals(closed, lr, closed * 1e-12, "lr " + i);
            if (i > 0) {
                assertTrue(lr > j.get("lr").get(i - 1).asDouble(), "the curve runs in increasing rate");
            }
            // The debiased moving average, beta 0.98, from the raw losses.
            avg = 0.98 * avg + 0.02 * j.get("loss").get(i).asDouble();
            assertEquals(avg / (1 - Math.pow(0.98, i + 1)), j.get("smoothed_loss").get(i).asDouble(), 1e-12, "smoothed " + i);
        }
        double suggested = j.get("suggested_lr").asDouble();
        assertTrue(suggested >= j.get("lr").get(0).asDouble() && suggested <= j.get("lr").get(n - 1).asDouble(), "suggestion " + suggested);
        assertEquals(suggested, j.get("suggestions").get("valley").asDouble(), 0.0);
    }

    @Test
    void withoutWeightsTheWholeNetworkIsSwept(@TempDir Path dir) throws Exception {
        Path data = SyntheticImages.folder(dir.resolve("data"), 2, 12, 12);
        for (String[] phase : new String[][] {{}, {"--phase", "finetune"}}) {
            List<String> a = args(data, dir.resolve("lr"), "--arch", TrainCommandTest.TINY, "--iters", "8", "--start-lr", "1e-4", "--end-lr", "1e-2");
            a.addAll(List.of(phase));
            TrainCommandTest.Run r = TrainCommandTest.graft(a.toArray(String[]::new));
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("phase train"), r.out());
        }
    }

    @Test
    void badOptionsAreOneLineErrors(@TempDir Path dir) throws Exception {
        Path data = SyntheticImages.folder(dir.resolve("data"), 3, 6, 6);
        String[][] cases = {
            {"--phase", "head", "--arch", TrainCommandTest.TINY},
            {"--end-lr", "1e-9"},
            {"--iters", "1"},
            {"--phase", "everything"},
            {"--start-lr", "-1"},
            {"--val-fraction", "1.5"},
            {"--augment", "tilt=3"},
        };
        String[] expected = {"--phase head trains a new head on a frozen pretrained backbone, but no --weights were given",
            "--end-lr 1.0E-9 is not above --start-lr 1.0E-7", "--iters 1 is out of range",
            "--phase 'everything' is not one of the accepted values: head, finetune", "--start-lr -1.0 is out of range",
            "--val-fraction 1.5 is out of range", "--augment: unknown augmentation 'tilt'"};
        for (int i = 0; i < cases.length; i++) {
            TrainCommandTest.Run r = TrainCommandTest.graft(args(data, dir.resolve("lr" + i), cases[i]).toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", cases[i]) + ": " + r.out() + r.err());
            assertTrue(r.err().contains(expected[i]), r.err());
            assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
            assertFalse(Files.exists(dir.resolve("lr" + i).resolve("lr-find.json")));
        }
    }
}
