package dev.graft.reuse;

import dev.graft.train.OutputFiles;
import dev.graft.train.Report;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle;
import org.knowm.xchart.style.Styler;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/** reuse.json, reuse.csv and one PNG per measure against depth (plots/), each written atomically. */
public final class ReuseReport {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    public static final List<String> CSV_HEADER = List.of("depth", "layer", "values_per_image", "cka_debiased", "cka_biased",
            "weight_distance", "reinit_accuracy", "reinit_auc", "accuracy_drop", "auc_drop", "knn_accuracy_before", "knn_accuracy_after");

    private ReuseReport() {
    }

    public static void write(Path dir, ReuseAnalysis.Result r, Map<String, Object> settings) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>(settings);
        json.put("accuracy_after", nullable(r.accuracy()));
        json.put("auc_after", nullable(r.auc()));
        json.put("cka_samples", r.ckaSamples());
        json.put("head_compared", r.headCompared());
        json.put("stem_summed_to_one_channel", r.grayscaleSummed());
        List<Map<String, Object>> layers = new ArrayList<>();
        StringBuilder csv = new StringBuilder(String.join(",", CSV_HEADER)).append('\n');
        for (ReuseAnalysis.LayerResult l : r.layers()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("depth", l.depth());
            m.put("layer", l.layer());
            m.put("values_per_image", l.width());
            m.put("cka_debiased", nullable(l.ckaDebiased()));
            m.put("cka_biased", nullable(l.ckaBiased()));
            m.put("weight_distance", nullable(l.weightDistance()));
            m.put("reinit_accuracy", nullable(l.reinitAccuracy()));
            m.put("reinit_auc", nullable(l.reinitAuc()));
            m.put("accuracy_drop", nullable(l.accuracyDrop()));
            m.put("auc_drop", nullable(l.aucDrop()));
            m.put("knn_accuracy_before", nullable(l.knnBefore()));
            m.put("knn_accuracy_after", nullable(l.knnAfter()));
            layers.add(m);
            List<String> cells = new ArrayList<>();
            for (Object v : m.values()) {
                cells.add(v == null ? "" : v.toString()); // layer names are module paths: no commas or quotes
            }
            csv.append(String.join(",", cells)).append('\n');
        }
        json.put("layers", layers);
        Report.writeJson(dir.resolve("reuse.json"), json);
        OutputFiles.write(dir.resolve("reuse.csv"), csv.toString().getBytes(StandardCharsets.UTF_8));
        List<String> names = r.layers().stream().map(ReuseAnalysis.LayerResult::layer).toList();
        Path plots = dir.resolve("plots");
        plot(plots.resolve("cka.png"), "Linear CKA, initial vs fine-tuned", "CKA", names,
                series("debiased", r, ReuseAnalysis.LayerResult::ckaDebiased, "biased", ReuseAnalysis.LayerResult::ckaBiased));
        plot(plots.resolve("weight-distance.png"), "Relative weight distance ||W1 - W0|| / ||W0||", "relative L2 distance", names,
                series("weights", r, ReuseAnalysis.LayerResult::weightDistance, null, null));
        plot(plots.resolve("reinit.png"), "Re-initialisation robustness: drop after resetting one layer", "drop", names,
                series("accuracy drop", r, ReuseAnalysis.LayerResult::accuracyDrop, "AUC drop", ReuseAnalysis.LayerResult::aucDrop));
        plot(plots.resolve("knn.png"), "k-NN accuracy of each layer's pooled features", "accuracy", names,
                series("initial (M0)", r, ReuseAnalysis.LayerResult::knnBefore, "fine-tuned (M1)", ReuseAnalysis.LayerResult::knnAfter));
    }

    private static Object nullable(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private static Map<String, double[]> series(String a, ReuseAnalysis.Result r, ToDoubleFunction<ReuseAnalysis.LayerResult> fa,
                                                String b, ToDoubleFunction<ReuseAnalysis.LayerResult> fb) {
        Map<String, double[]> out = new LinkedHashMap<>();
        out.put(a, r.layers().stream().mapToDouble(fa).toArray());
        if (b != null) {
            out.put(b, r.layers().stream().mapToDouble(fb).toArray());
        }
        return out;
    }

    /** One line per series against depth (the stem first), one category per layer named on the x axis; NaN points left out. */
    static void plot(Path file, String title, String yLabel, List<String> layers, Map<String, double[]> series) throws IOException {
        CategoryChart chart = new CategoryChartBuilder().width(900).height(600).title(title).xAxisTitle("layer (input to output)")
                .yAxisTitle(yLabel).build();
        var s = chart.getStyler();
        s.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
        s.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 16));
        s.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        s.setChartBackgroundColor(Color.WHITE);
        s.setLegendPosition(Styler.LegendPosition.OutsideS).setLegendLayout(Styler.LegendLayout.Horizontal);
        s.setDefaultSeriesRenderStyle(CategorySeriesRenderStyle.Line);
        s.setOverlapped(true); // every series at its layer's x, not side by side as bars
        s.setXAxisLabelRotation(layers.size() > 8 ? 60 : 0);
        boolean any = false;
        for (Map.Entry<String, double[]> e : series.entrySet()) {
            List<Double> ys = new ArrayList<>();
            boolean finite = false;
            for (double v : e.getValue()) {
                ys.add(Double.isFinite(v) ? v : null);
                finite |= Double.isFinite(v);
            }
            if (finite) {
                chart.addSeries(e.getKey(), layers, ys);
                any = true;
            }
        }
        if (!any) {
            List<Double> zeros = new ArrayList<>();
            layers.forEach(l -> zeros.add(0.0));
            chart.addSeries("no values", layers, zeros);
        }
        OutputFiles.write(file, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
    }

    static String format(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
