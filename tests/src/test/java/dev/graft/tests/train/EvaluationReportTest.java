package dev.graft.tests.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static dev.graft.tests.train.TrainCommandTest.graft;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What {@code graft train} and {@code graft evaluate} leave for a reader: predictions.csv, the confusion matrix with
 * row percentages, the top-loss gallery and report.html, checked against the CSV's own numbers and in a headless
 * browser. One small run (tiny ResNet, 16-pixel images) is shared by all tests. A class name full of HTML and CSV
 * metacharacters travels through everything.
 */
class EvaluationReportTest {
    /** The positive class (sorts after "horizontal"): markup, an ampersand and both quote characters. */
    static final String ODD = "v<i>&\"x'";
    static final int TOP = 5;

    @TempDir
    static Path dir;
    static Path run;
    static Path eval;
    static List<String> classes;

    @BeforeAll
    static void trainAndEvaluate() throws IOException {
        Path data = oddClassName(SyntheticImages.folder(dir.resolve("data"), 1, 16, 16));
        Path test = oddClassName(SyntheticImages.folder(dir.resolve("test"), 2, 8, 8));
        run = dir.resolve("run");
        TrainCommandTest.Run r = graft(TrainCommandTest.trainArgs(data, run, "cpu", "--head-epochs", "1", "--finetune-epochs", "2",
                "--lr", "0.01").toArray(String[]::new));
        assertEquals(0, r.code(), r.out() + r.err());
        eval = dir.resolve("eval");
        TrainCommandTest.Run ev = graft("evaluate", "--model", run.resolve("best.safetensors").toString(), "--data", test.toString(),
                "--out", eval.toString(), "--no-progress", "--device", "cpu", "--top-losses", Integer.toString(TOP));
        assertEquals(0, ev.code(), ev.out() + ev.err());
        classes = List.of("horizontal", ODD);
    }

    private static Path oddClassName(Path root) throws IOException {
        Files.move(root.resolve("vertical"), root.resolve(ODD));
        return root;
    }

    private static JsonNode metrics() throws IOException {
        return new ObjectMapper().readTree(eval.resolve("metrics.json").toFile());
    }

    @Test
    void predictionsCsvHasOneRowPerImageWithProbabilitiesDecisionAndLoss() throws IOException {
        List<List<String>> rows = csv(eval.resolve("predictions.csv"));
        assertEquals(List.of("file", "true", "p_horizontal", "p_" + ODD, "predicted", "loss"), rows.get(0));
        assertEquals(16, rows.size() - 1, "one row per test image");
        JsonNode m = metrics();
        double threshold = m.get("metrics").get("binary").get("threshold").asDouble();
        assertEquals(ODD, m.get("metrics").get("binary").get("positive_class").asText());
        double lossSum = 0;
        for (List<String> row : rows.subList(1, rows.size())) {
            assertTrue(Files.isRegularFile(Path.of(row.get(0))), row.get(0));
            assertEquals(Path.of(row.get(0)).getParent().getFileName().toString(), row.get(1), "true label is the class folder");
            double p0 = Double.parseDouble(row.get(2)), p1 = Double.parseDouble(row.get(3)), loss = Double.parseDouble(row.get(5));
            // Written with 8 decimals: the pair sums to 1 within two roundings.
            assertEquals(1.0, p0 + p1, 2e-8, "probabilities of " + row);
            // The decision rule of a two-class model: P(positive) >= its threshold.
            assertEquals(p1 >= threshold ? ODD : "horizontal", row.get(4), "decision for " + row);
            // Loss = -ln P(true); a probability rounded to 8 decimals moves -ln p by at most 5e-9 / p.
            double pTrue = row.get(1).equals(ODD) ? p1 : p0;
            assertEquals(-Math.log(pTrue), loss, 5e-9 / pTrue + 1e-8, "loss of " + row);
            lossSum += loss;
        }
        // Independent path: metrics.json's mean loss is the cross-entropy over float32 logits; the CSV's comes from
        // double probabilities. float32 log-sum-exp of logits of size ~10 is good to ~1e-6.
        assertEquals(m.get("mean_loss").asDouble(), lossSum / 16, 1e-5);
    }

    @Test
    void confusionMatrixCountsAndRowPercentagesFollowTheCsv() throws IOException {
        List<List<String>> rows = csv(eval.resolve("predictions.csv"));
        int[][] counts = new int[2][2];
        for (List<String> row : rows.subList(1, rows.size())) {
            counts[classes.indexOf(row.get(1))][classes.indexOf(row.get(4))]++;
        }
        JsonNode m = metrics().get("metrics");
        for (int t = 0; t < 2; t++) {
            int rowSum = counts[t][0] + counts[t][1];
            for (int p = 0; p < 2; p++) {
                assertEquals(counts[t][p], m.get("confusion_matrix").get(t).get(p).asInt());
                assertEquals(100.0 * counts[t][p] / rowSum, m.get("confusion_matrix_row_percent").get(t).get(p).asDouble(), 1e-9);
            }
        }
        BufferedImage plot = ImageIO.read(eval.resolve("plots/confusion.png").toFile());
        assertEquals(800, plot.getWidth());
        assertEquals(600, plot.getHeight());
    }

    @Test
    void topLossGalleryHoldsTheHighestLossesOfTheCsvInOrder() throws IOException {
        List<List<String>> rows = csv(eval.resolve("predictions.csv")).subList(1, 17);
        List<List<String>> byLoss = new ArrayList<>(rows);
        byLoss.sort(Comparator.comparingDouble((List<String> r) -> -Double.parseDouble(r.get(5))));
        JsonNode top = metrics().get("top_losses");
        assertEquals(TOP, top.size());
        for (int i = 0; i < TOP; i++) {
            JsonNode e = top.get(i);
            assertEquals(i + 1, e.get("rank").asInt());
            assertEquals(Double.parseDouble(byLoss.get(i).get(5)), e.get("loss").asDouble(), 1e-8, "rank " + (i + 1));
            assertEquals(byLoss.get(i).get(0), e.get("file").asText());
            assertEquals(byLoss.get(i).get(4), e.get("predicted").asText());
            BufferedImage thumb = ImageIO.read(eval.resolve(e.get("thumbnail").asText()).toFile());
            assertEquals(224, thumb.getWidth());
            assertEquals(224, thumb.getHeight());
        }
        assertTrue(Files.size(eval.resolve("plots/top-losses.png")) > 0);
        assertFalse(Files.exists(eval.resolve("top-losses/06.png")), "only K thumbnails");
    }

    /**
     * The gallery draws the predicted class's Grad-CAM map (checked pixel by pixel in CamOverlayTest) where the map can
     * show a place; at the shared run's 16 pixels layer4 is one cell, so the thumbnails are exactly those of --no-cam.
     */
    @Test
    void oneCellMapsLeaveTheGalleryAsNoCamDraws() throws IOException {
        for (int r = 1; r <= TOP; r++) {
            String name = String.format(java.util.Locale.ROOT, "top-losses/%02d.png", r);
            BufferedImage[] pair = evaluateBothWays(run, dir.resolve("test"), "eval16", name);
            assertTrue(sameImage(pair[0], pair[1]), name + ": a one-cell map is not drawn");
        }
    }

    /** The thumbnail {@code name} of an evaluation of {@code runDir}'s best model on {@code data} with and without --no-cam. */
    private static BufferedImage[] evaluateBothWays(Path runDir, Path data, String tag, String name) throws IOException {
        BufferedImage[] out = new BufferedImage[2];
        for (int i = 0; i < 2; i++) {
            Path o = dir.resolve(tag + (i == 0 ? "-cam" : "-plain"));
            if (!Files.exists(o.resolve(name))) {
                List<String> args = new ArrayList<>(List.of("evaluate", "--model", runDir.resolve("best.safetensors").toString(), "--data",
                        data.toString(), "--out", o.toString(), "--no-progress", "--device", "cpu", "--top-losses", Integer.toString(TOP)));
                if (i == 1) {
                    args.add("--no-cam");
                }
                TrainCommandTest.Run ev = graft(args.toArray(String[]::new));
                assertEquals(0, ev.code(), ev.out() + ev.err());
            }
            out[i] = ImageIO.read(o.resolve(name).toFile());
        }
        return out;
    }

    private static boolean sameImage(BufferedImage x, BufferedImage y) {
        for (int j = 0; j < x.getHeight(); j++) {
            for (int i = 0; i < x.getWidth(); i++) {
                if (x.getRGB(i, j) != y.getRGB(i, j)) {
                    return false;
                }
            }
        }
        return x.getWidth() == y.getWidth() && x.getHeight() == y.getHeight();
    }

    @Test
    void topLossesZeroTurnsTheGalleryOffAndANegativeCountIsRefused() throws IOException {
        Path out = dir.resolve("eval-none");
        TrainCommandTest.Run ev = graft("evaluate", "--model", run.resolve("best.safetensors").toString(), "--data",
                dir.resolve("test").toString(), "--out", out.toString(), "--no-progress", "--device", "cpu", "--top-losses", "0");
        assertEquals(0, ev.code(), ev.out() + ev.err());
        assertFalse(Files.exists(out.resolve("top-losses")));
        assertFalse(Files.readString(out.resolve("report.html")).contains("class=\"gallery\""));
        assertEquals(0, metrics(out).get("top_losses").size());
        TrainCommandTest.Run bad = graft("evaluate", "--model", run.resolve("best.safetensors").toString(), "--data",
                dir.resolve("test").toString(), "--out", out.toString(), "--no-progress", "--top-losses", "-1");
        assertEquals(2, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("--top-losses -1 is out of range"), bad.err());
    }

    private static JsonNode metrics(Path out) throws IOException {
        return new ObjectMapper().readTree(out.resolve("metrics.json").toFile());
    }

    @Test
    void trainingRunPlotsMarkTheBestEpochAndTheReportListsTheHistory() throws IOException {
        JsonNode m = new ObjectMapper().readTree(run.resolve("metrics.json").toFile());
        int best = m.get("best_epoch").asInt();
        String html = Files.readString(run.resolve("report.html"), StandardCharsets.UTF_8);
        assertTrue(html.contains("<td>" + best + " (best)</td>"), "history marks epoch " + best);
        for (String f : List.of("loss", "accuracy", "roc", "confusion")) {
            BufferedImage plot = ImageIO.read(run.resolve("plots/" + f + ".png").toFile());
            assertEquals(800, plot.getWidth(), f);
            assertEquals(600, plot.getHeight(), f);
        }
        assertTrue(m.get("top_losses_validation").size() > 0);
    }

    @Test
    void reportsAreSelfContainedAndEscapeEveryName() throws IOException {
        for (Path report : List.of(eval.resolve("report.html"), run.resolve("report.html"))) {
            String html = Files.readString(report, StandardCharsets.UTF_8);
            assertFalse(html.toLowerCase().contains("<script"), report + " has a script");
            assertFalse(html.contains("http:") || html.contains("https:") || html.contains("file:"), report + " links outside itself");
            Matcher src = Pattern.compile("\\ssrc=\"([^\"]*)\"").matcher(html);
            int images = 0;
            while (src.find()) {
                assertTrue(src.group(1).startsWith("data:image/png;base64,"), report + ": " + src.group(1));
                images++;
            }
            assertEquals(images, count(html, "<img "), "every image carries its data");
            assertFalse(html.contains(ODD), report + " holds the raw class name");
            assertTrue(html.contains("v&lt;i&gt;&amp;&quot;x&#39;"), report + " lacks the escaped class name");
        }
    }

    @Test
    void reportsRenderInHeadlessChromiumWithEveryImageDecodedAndNoConsoleOutput() throws Exception {
        HeadlessChromium chromium = HeadlessChromium.require();
        // The checks must be able to fail: a page with one good image, one broken one and a console error.
        Path probe = dir.resolve("probe.html");
        String good = java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(eval.resolve("top-losses/01.png")));
        Files.writeString(probe, "<!DOCTYPE html><html><head><title>probe</title></head><body><h1>p</h1>"
                + "<img src=\"data:image/png;base64," + good + "\"><img src=\"data:image/png;base64,iVBORw0KGgoAAAA\">"
                + "<script>console.error('probe-console')</script></body></html>");
        Path evalReport = eval.resolve("report.html"), runReport = run.resolve("report.html");
        List<HeadlessChromium.Inspection> seen = chromium.inspect(List.of(probe, evalReport, runReport), dir.resolve("chromium"));
        HeadlessChromium.Inspection p = seen.get(0), e = seen.get(1), r = seen.get(2);
        assertEquals(2, p.images());
        assertEquals(1, p.broken(), "the checker sees a broken image");
        assertTrue(p.console().stream().anyMatch(l -> l.contains("probe-console")), "the checker sees console output: " + p.console());

        assertEquals(3 + TOP, e.images(), "ROC, confusion matrix, reliability diagram and the gallery");
        assertEquals(0, e.broken(), "broken images in the evaluation report");
        assertEquals("Evaluation of best.safetensors on " + dir.getFileName() + "/test", e.title());
        assertEquals(List.of(), e.console());

        assertEquals(count(Files.readString(runReport, StandardCharsets.UTF_8), "<img "), r.images());
        assertTrue(r.images() >= 5, "four plots and a gallery");
        assertEquals(0, r.broken(), "broken images in the run report");
        assertTrue(r.title().startsWith("Training run "), r.title());
        assertEquals(List.of(), r.console());
        assertEquals(List.of(), seen.get(3).console(), "console output from no page");
    }

    private static int count(String s, String what) {
        return (int) IntStream.range(0, s.length()).filter(i -> s.startsWith(what, i)).count();
    }

    /** RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks. */
    static List<List<String>> csv(Path file) throws IOException {
        String s = Files.readString(file, StandardCharsets.UTF_8);
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < s.length() && s.charAt(i + 1) == '"') {
                    f.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    f.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                row.add(f.toString());
                f.setLength(0);
            } else if (c == '\n') {
                row.add(f.toString());
                f.setLength(0);
                rows.add(row);
                row = new ArrayList<>();
            } else {
                f.append(c);
            }
        }
        return rows;
    }
}
