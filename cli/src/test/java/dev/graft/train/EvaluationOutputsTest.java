package dev.graft.train;

import dev.graft.loaders.images.ImageDecoder;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.DecisionRule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The parts of the evaluation outputs: per-image loss, top-loss order, the overlay hook, plots and HTML escaping. */
class EvaluationOutputsTest {

    @Test
    void perImageLossIsMinusLogOfTheTrueClassProbability() {
        // Closed forms: -ln 0.25 = 2 ln 2; -ln 1 = 0; an underflowed probability is held at the smallest double.
        assertEquals(2 * Math.log(2), TopLosses.loss(new double[] {0.75, 0.25}, 1), 1e-15);
        assertEquals(0.0, TopLosses.loss(new double[] {1.0, 0.0}, 0), 0.0);
        assertEquals(-Math.log(Double.MIN_VALUE), TopLosses.loss(new double[] {1.0, 0.0}, 1), 0.0);
        assertTrue(Double.isFinite(TopLosses.loss(new double[] {1.0, 0.0}, 1)));
    }

    @Test
    void highestLossesComeFirstAndTiesKeepRowOrder() {
        double[] losses = {0.1, 3.0, 0.5, 3.0, 2.0};
        assertArrayEquals(new int[] {1, 3, 4}, TopLosses.highest(losses, 3));
        assertArrayEquals(new int[] {1, 3, 4, 2, 0}, TopLosses.highest(losses, 10));
        assertArrayEquals(new int[] {}, TopLosses.highest(losses, 0));
    }

    @Test
    void rowPercentagesDivideEachCellByItsRow() {
        // Hand-made: true 0 -> predicted {3, 1}, true 1 -> {0, 0} (no images), true 2 -> {1, 1, 2}.
        double[][] probs = {{.9, .05, .05}, {.9, .05, .05}, {.9, .05, .05}, {.1, .1, .8}, {.9, .05, .05}, {.1, .1, .8}, {.1, .1, .8},
            {.05, .9, .05}};
        int[] labels = {0, 0, 0, 0, 2, 2, 2, 2};
        Metrics m = Metrics.compute(probs, labels, DecisionRule.argmax(List.of("a", "b", "c")));
        double[][] pct = m.confusionRowPercent();
        assertArrayEquals(new double[] {75, 0, 25}, pct[0], 1e-12);
        assertTrue(Double.isNaN(pct[1][0]) && Double.isNaN(pct[1][1]) && Double.isNaN(pct[1][2]), "a class with no images");
        assertArrayEquals(new double[] {25, 25, 50}, pct[2], 1e-12);
        @SuppressWarnings("unchecked")
        List<List<Double>> json = (List<List<Double>>) m.toMap().get("confusion_matrix_row_percent");
        assertEquals(75.0, json.get(0).get(0));
        assertEquals(null, json.get(1).get(0), "NaN is null in JSON");
    }

    @Test
    void theOperatingPointIsAVertexOfTheRocCurve() {
        // What Plots.roc draws: (1 - specificity, sensitivity) at the rule's threshold must lie on the curve, because
        // both the curve and the rule predict positive when P(positive) >= threshold.
        Random r = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            int n = 2 + r.nextInt(40);
            double[][] probs = new double[n][];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                double p = r.nextInt(4) == 0 ? Math.round(r.nextDouble() * 4) / 4.0 : r.nextDouble(); // some ties
                probs[i] = new double[] {1 - p, p};
                labels[i] = i < 2 ? i : r.nextInt(2);
            }
            double t = r.nextInt(5) == 0 ? probs[r.nextInt(n)][1] : r.nextDouble();
            Metrics m = Metrics.compute(probs, labels, DecisionRule.of(List.of("neg", "pos"), 1, t, "test"));
            Roc roc = m.binary().roc();
            double x = 1 - m.binary().specificity(), y = m.binary().sensitivity();
            boolean onCurve = false;
            for (int i = 0; i < roc.fpr().length; i++) {
                onCurve |= Math.abs(roc.fpr()[i] - x) < 1e-12 && Math.abs(roc.tpr()[i] - y) < 1e-12;
            }
            assertTrue(onCurve, "trial " + trial + ": (" + x + ", " + y + ") at threshold " + t);
        }
    }

    @Test
    void plotsAreWrittenAt800By600(@TempDir Path dir) throws Exception {
        Map<String, double[]> series = new LinkedHashMap<>();
        series.put("train", new double[] {0.9, 0.5, 0.4, 0.3, 0.35});
        series.put("validation", new double[] {0.8, 0.6, Double.NaN, 0.45, 0.5});
        Plots.curves(dir.resolve("loss.png"), "Loss per epoch", "cross-entropy", series, 2, 4, "best epoch 4");
        double[][] probs = {{.8, .2}, {.3, .7}, {.6, .4}, {.1, .9}};
        Metrics m = Metrics.compute(probs, new int[] {0, 1, 1, 1}, DecisionRule.of(List.of("normal", "pneumonia"), 1, 0.5, "test"));
        Plots.roc(dir.resolve("roc.png"), m.binary().roc(), "pneumonia", "chest/test", m.binary());
        Plots.confusion(dir.resolve("confusion.png"), m, "chest/test");
        for (String f : List.of("loss.png", "roc.png", "confusion.png")) {
            BufferedImage img = ImageIO.read(dir.resolve(f).toFile());
            assertEquals(800, img.getWidth(), f);
            assertEquals(600, img.getHeight(), f);
        }
        try (var files = Files.list(dir)) {
            assertEquals(3, files.count(), "no temporary files left");
        }
    }

    @Test
    void galleryThumbnailsGoThroughTheOverlayWithThePredictedClass(@TempDir Path dir) throws Exception {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_BYTE_GRAY);
            files.add(dir.resolve("img" + i + ".png"));
            ImageIO.write(img, "png", files.get(i).toFile());
        }
        Predictions p = new Predictions(new double[][] {{.9, .1}, {.2, .8}, {.6, .4}}, new int[] {0, 0, 1}, new int[] {0, 1, 2}, Double.NaN);
        int[] predicted = {0, 1, 0};
        List<String> calls = new ArrayList<>();
        Overlay red = (image, thumb, cls) -> {
            calls.add(image.getFileName() + ":" + cls);
            BufferedImage out = new BufferedImage(thumb.getWidth(), thumb.getHeight(), BufferedImage.TYPE_INT_RGB);
            var g = out.createGraphics();
            g.setColor(Color.RED);
            g.fillRect(0, 0, out.getWidth(), out.getHeight());
            g.dispose();
            return out;
        };
        Path out = dir.resolve("out");
        TopLosses top = TopLosses.write(out, p, files, predicted, List.of("a", "b"), new Preprocessing(16, 18, Preprocessing.IMAGENET_MEAN,
                Preprocessing.IMAGENET_STD), ImageDecoder.Options.defaults(), red, 2);
        // Losses: -ln .9, -ln .2, -ln .4 -> img1 (1.61) then img2 (0.92).
        assertEquals(List.of("img1.png:1", "img2.png:0"), calls);
        assertEquals(2, top.entries().size());
        assertEquals(-Math.log(0.2), top.entries().get(0).loss(), 1e-15);
        BufferedImage thumb = ImageIO.read(out.resolve(top.entries().get(0).thumbnail()).toFile());
        assertEquals(TopLosses.THUMB, thumb.getWidth());
        assertEquals(Color.RED.getRGB(), thumb.getRGB(100, 100), "the overlay's picture is what is written");
        assertTrue(Files.exists(out.resolve("plots/top-losses.png")));

        // A smaller gallery later replaces the larger one's files.
        TopLosses.write(out, p, files, predicted, List.of("a", "b"), new Preprocessing(16, 18, Preprocessing.IMAGENET_MEAN,
                Preprocessing.IMAGENET_STD), ImageDecoder.Options.defaults(), Overlay.NONE, 1);
        assertTrue(Files.exists(out.resolve("top-losses/01.png")));
        assertFalse(Files.exists(out.resolve("top-losses/02.png")));
    }

    @Test
    void htmlTextIsEscapedAndImagesAreEmbedded(@TempDir Path dir) throws Exception {
        assertEquals("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;", HtmlReport.escape("<script>alert(\"x\")</script> & '"));
        assertEquals("a\\u001b[31mb", HtmlReport.escape("a\u001b[31mb"), "control characters become visible escapes");
        BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        Path png = dir.resolve("x.png");
        ImageIO.write(img, "png", png.toFile());
        HtmlReport r = new HtmlReport("t <1>").image(png, "a\"b").image(dir.resolve("missing.png"), "gone")
                .table(List.of("k", "v"), List.of(List.of("<k>", "12.5%")));
        String html = r.html();
        assertTrue(html.contains("<title>t &lt;1&gt;</title>"));
        assertTrue(html.contains("<td>&lt;k&gt;</td><td class=\"n\">12.5%</td>"));
        int at = html.indexOf("data:image/png;base64,") + "data:image/png;base64,".length();
        String b64 = html.substring(at, html.indexOf('"', at));
        assertArrayEquals(Files.readAllBytes(png), Base64.getDecoder().decode(b64), "the PNG travels byte for byte");
        assertEquals(1, html.split("<img ", -1).length - 1, "a missing plot is left out");
        r.write(dir.resolve("report.html"));
        assertEquals(html, Files.readString(dir.resolve("report.html")));
    }
}
