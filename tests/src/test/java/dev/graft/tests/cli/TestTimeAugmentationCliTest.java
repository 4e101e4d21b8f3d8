package dev.graft.tests.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.models.Temperature;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --tta} in predict and evaluate: an image's probabilities are the mean of the single-pass probabilities of the
 * image and of its mirror image, each at the model file's temperature. The mirror is written as its own file and
 * predicted separately; with 32x32 images and a 32/32 resize and crop, preprocessing is pixel for pixel, so the
 * preprocessed mirror file equals the mirrored preprocessed image.
 */
class TestTimeAugmentationCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final double T = 2.5;

    @TempDir
    Path dir;

    private Path model() {
        Map<String, String> meta = new HashMap<>();
        meta.put(Temperature.META_TEMPERATURE, Double.toString(T));
        meta.put("graft.image_size", "32");
        meta.put("graft.resize_size", "32");
        // A sharper head (weights x40) so probabilities are far from 1/2, where the softmax is nearly linear and averaging
        // probabilities could not be told from averaging logits.
        return DecisionFixtures.model(dir.resolve("m.safetensors"), 9, meta, net -> {
            var w = net.fc().weight().tensor();
            float[] v = w.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                v[i] *= 40;
            }
            w.data().backend().copyFromHost(w.data(), v);
        });
    }

    /** Random asymmetric 32x32 RGB images; {@code mirrored} true writes each one's left-right mirror instead. */
    private static List<Path> images(Path folder, int n, long seed, boolean mirrored) throws Exception {
        Files.createDirectories(folder);
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SplittableRandom r = new SplittableRandom(seed + i);
            BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
            int[][] rgb = new int[32][32];
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    // A left-heavy gradient plus noise: the mirror really differs.
                    int v = Math.min(255, (int) (255.0 * (31 - x) / 31 * 0.7) + r.nextInt(70));
                    rgb[y][x] = (v << 16) | (r.nextInt(256) << 8) | (255 - v);
                }
            }
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    img.setRGB(x, y, rgb[y][mirrored ? 31 - x : x]);
                }
            }
            Path f = folder.resolve(String.format("img%02d.png", i));
            ImageIO.write(img, "png", f.toFile());
            out.add(f);
        }
        return out;
    }

    private static double[][] predict(Path model, List<Path> images, boolean tta) throws Exception {
        List<Object> args = new ArrayList<>(List.of("predict", "--model", model, "--json", "--device", "reference"));
        if (tta) {
            args.add("--tta");
        }
        args.addAll(images);
        JsonNode rows = JSON.readTree(Cli.ok(args.toArray()).out());
        double[][] p = new double[rows.size()][];
        for (int i = 0; i < rows.size(); i++) {
            JsonNode probs = rows.get(i).get("probabilities");
            p[i] = new double[] {probs.get("normal").asDouble(), probs.get("pneumonia").asDouble()};
        }
        return p;
    }

    @Test
    void predictAveragesTheImageAndItsMirror() throws Exception {
        Path m = model();
        List<Path> plain = images(dir.resolve("plain"), 4, 40, false);
        List<Path> mirror = images(dir.resolve("mirror"), 4, 40, true);
        double[][] a = predict(m, plain, false);
        double[][] b = predict(m, mirror, false);
        double[][] t = predict(m, plain, true);
        double largestGap = 0;
        for (int i = 0; i < 4; i++) {
            for (int k = 0; k < 2; k++) {
                // Reference backend, same network and pixels: only the order of float sums within a batch may differ.
                assertEquals((a[i][k] + b[i][k]) / 2, t[i][k], 1e-6, "image " + i + " class " + k);
                largestGap = Math.max(largestGap, Math.abs(a[i][k] - b[i][k]));
            }
        }
        assertTrue(largestGap > 0.05, "the model must tell an image from its mirror for this test to mean something: " + largestGap);
        // Averaging logits instead (softmax((z + z') / 2T)) would differ from the mean of the probabilities by more than
        // the tolerance; this checks the test can see that difference.
        double logitGap = 0;
        for (int i = 0; i < 4; i++) {
            // Two classes: p1 = sigmoid(d / T), so d / T = logit(p1) per view; the logit-averaged p1 is sigmoid of their mean.
            double za = Math.log(a[i][1] / a[i][0]);
            double zb = Math.log(b[i][1] / b[i][0]);
            double viaLogits = 1 / (1 + Math.exp(-(za + zb) / 2));
            logitGap = Math.max(logitGap, Math.abs(viaLogits - t[i][1]));
        }
        assertTrue(logitGap > 1e-4, "averaging logits would be indistinguishable here: " + logitGap);
    }

    @Test
    void evaluateComputesItsMetricsFromTheAveragedProbabilities() throws Exception {
        Path m = model();
        Path data = dir.resolve("data");
        List<Path> normal = images(data.resolve("normal"), 3, 70, false);
        List<Path> pneumonia = images(data.resolve("pneumonia"), 3, 90, false);
        List<Path> all = new ArrayList<>(normal);
        all.addAll(pneumonia);
        double[][] t = predict(m, all, true);
        Path out = dir.resolve("eval");
        Cli.ok("evaluate", "--model", m, "--data", data, "--out", out, "--tta", "--device", "reference", "--no-progress", "--top-losses", "0",
                "--bootstrap", "0");
        JsonNode json = JSON.readTree(out.resolve("metrics.json").toFile());
        assertEquals("identity+hflip", json.get("tta").asText());
        // Mean cross-entropy and accuracy (argmax: the model file has no threshold) from predict --tta's probabilities.
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < 6; i++) {
            int label = i < 3 ? 0 : 1;
            loss -= Math.log(t[i][label]);
            correct += (t[i][1] > t[i][0] ? 1 : 0) == label ? 1 : 0;
        }
        assertEquals(loss / 6, json.get("mean_loss").asDouble(), 1e-6);
        assertEquals(correct / 6.0, json.get("metrics").get("accuracy").asDouble(), 1e-12);
        List<String> csv = Files.readAllLines(out.resolve("predictions.csv"));
        for (int i = 1; i < csv.size(); i++) {
            String[] f = csv.get(i).split(",");
            int at = all.indexOf(Path.of(f[0]));
            assertTrue(at >= 0, csv.get(i));
            assertEquals(t[at][1], Double.parseDouble(f[3]), 1e-6, csv.get(i));
        }
    }
}
