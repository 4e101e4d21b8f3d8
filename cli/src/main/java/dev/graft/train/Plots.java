package dev.graft.train;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** PNG plots with XChart: training curves, the ROC curve and the confusion matrix. Written atomically. */
public final class Plots {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private Plots() {
    }

    /**
     * One line per series against epoch number (1-based across both phases); a dashed vertical line marks where
     * phase 2 (fine-tuning) starts when {@code phaseBoundary > 0}. NaN points are left out.
     */
    public static void curves(Path file, String title, String yLabel, Map<String, double[]> series, int phaseBoundary) throws IOException {
        XYChart chart = new XYChartBuilder().width(720).height(420).title(title).xAxisTitle("epoch").yAxisTitle(yLabel).build();
        chart.getStyler().setMarkerSize(5);
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (Map.Entry<String, double[]> e : series.entrySet()) {
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            double[] v = e.getValue();
            for (int i = 0; i < v.length; i++) {
                if (Double.isFinite(v[i])) {
                    xs.add(i + 1.0);
                    ys.add(v[i]);
                    lo = Math.min(lo, v[i]);
                    hi = Math.max(hi, v[i]);
                }
            }
            if (!xs.isEmpty()) {
                chart.addSeries(e.getKey(), xs, ys);
            }
        }
        if (phaseBoundary > 0 && lo <= hi) {
            XYSeries s = chart.addSeries("fine-tuning starts", new double[] {phaseBoundary + 0.5, phaseBoundary + 0.5}, new double[] {lo, hi});
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(Color.GRAY);
        }
        save(chart, file);
    }

    public static void roc(Path file, Roc roc, String positiveClass) throws IOException {
        rocCurves(file, String.format(java.util.Locale.ROOT, "ROC (%s positive), AUC %.4f", positiveClass, roc.auc()), Map.of("ROC", roc));
    }

    /** Several ROC curves on one chart (legend: name and AUC). */
    public static void rocCurves(Path file, String title, Map<String, Roc> curves) throws IOException {
        XYChart chart = new XYChartBuilder().width(560).height(520).title(title)
                .xAxisTitle("1 - specificity").yAxisTitle("sensitivity").build();
        for (Map.Entry<String, Roc> e : curves.entrySet()) {
            String name = curves.size() == 1 ? e.getKey() : String.format(java.util.Locale.ROOT, "%s (AUC %.3f)", e.getKey(), e.getValue().auc());
            XYSeries s = chart.addSeries(name, e.getValue().fpr(), e.getValue().tpr());
            s.setMarker(SeriesMarkers.NONE);
        }
        XYSeries d = chart.addSeries("chance", new double[] {0, 1}, new double[] {0, 1});
        d.setMarker(SeriesMarkers.NONE);
        d.setLineColor(Color.LIGHT_GRAY);
        chart.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0)
                .setXAxisDecimalPattern("0.0").setYAxisDecimalPattern("0.0").setYAxisTickMarkSpacingHint(60);
        save(chart, file);
    }

    public static void confusion(Path file, Metrics m) throws IOException {
        int c = m.classes().size();
        HeatMapChart chart = new HeatMapChartBuilder().width(120 * c + 260).height(100 * c + 160)
                .title("Confusion matrix (rows: true, columns: predicted)").build();
        List<Number[]> cells = new ArrayList<>();
        for (int t = 0; t < c; t++) {
            for (int p = 0; p < c; p++) {
                // x = predicted, y = true; the y axis is flipped so row 0 sits on top like the printed table.
                cells.add(new Number[] {p, c - 1 - t, m.confusion()[t][p]});
            }
        }
        List<String> ys = new ArrayList<>(m.classes());
        java.util.Collections.reverse(ys);
        chart.getStyler().setShowValue(true).setMin(0);
        chart.addSeries("count", m.classes(), ys, cells);
        save(chart, file);
    }

    /**
     * The ROC curve with its pointwise 95% bootstrap band ({@link Uncertainty.RocBand}) shaded behind it, and the AUC
     * with its bootstrap and DeLong intervals in the title.
     */
    public static void rocWithBand(Path file, Roc roc, String positiveClass, Uncertainty u) throws IOException {
        Uncertainty.Interval boot = u.bootstrap().get("roc_auc");
        String title = String.format(java.util.Locale.ROOT, "ROC (%s positive), AUC %.3f [%.3f, %.3f]", positiveClass, roc.auc(),
                boot.lower(), boot.upper());
        XYChart chart = new XYChartBuilder().width(600).height(560).title(title)
                .xAxisTitle("1 - specificity").yAxisTitle("sensitivity").build();
        Uncertainty.RocBand band = u.rocBand();
        int g = band.fpr().length;
        double[] bx = new double[2 * g], by = new double[2 * g];
        for (int i = 0; i < g; i++) {
            bx[i] = band.fpr()[i];
            by[i] = band.lower()[i];
            bx[2 * g - 1 - i] = band.fpr()[i];
            by[2 * g - 1 - i] = band.upper()[i];
        }
        XYSeries area = chart.addSeries(String.format(java.util.Locale.ROOT, "95%% band (bootstrap, %d resamples)", u.resamples()), bx, by);
        area.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.PolygonArea);
        area.setMarker(SeriesMarkers.NONE);
        area.setFillColor(new Color(70, 130, 180, 70));
        area.setLineColor(new Color(70, 130, 180, 70));
        String curve = u.delongAuc() == null ? "ROC" : String.format(java.util.Locale.ROOT, "ROC (DeLong 95%% CI %.3f-%.3f)",
                u.delongAuc().lower(), u.delongAuc().upper());
        XYSeries s = chart.addSeries(curve, roc.fpr(), roc.tpr());
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(new Color(20, 60, 140));
        XYSeries d = chart.addSeries("chance", new double[] {0, 1}, new double[] {0, 1});
        d.setMarker(SeriesMarkers.NONE);
        d.setLineColor(Color.LIGHT_GRAY);
        chart.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0)
                .setXAxisDecimalPattern("0.0").setYAxisDecimalPattern("0.0").setYAxisTickMarkSpacingHint(60)
                .setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideSE);
        save(chart, file);
    }

    /**
     * Reliability diagram: observed frequency against mean predicted probability per non-empty bin, the diagonal of
     * perfect calibration, and the images per bin as a shaded histogram on the right axis; ECE in the title.
     */
    public static void reliability(Path file, Reliability r) throws IOException {
        XYChart chart = new XYChartBuilder().width(600).height(520)
                .title(String.format(java.util.Locale.ROOT, "Reliability, ECE %.3f (%d bins)", r.ece(), Reliability.BINS))
                .xAxisTitle("predicted " + r.binned()).yAxisTitle("observed frequency").build();
        int b = r.bins().size();
        double[] hx = new double[2 * b], hy = new double[2 * b];
        List<Double> mx = new ArrayList<>(), my = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            Reliability.Bin bin = r.bins().get(i);
            hx[2 * i] = bin.lower();
            hx[2 * i + 1] = bin.upper();
            hy[2 * i] = bin.count();
            hy[2 * i + 1] = bin.count();
            if (bin.count() > 0) {
                mx.add(bin.meanProbability());
                my.add(bin.observedFrequency());
            }
        }
        XYSeries counts = chart.addSeries("images per bin (right axis)", hx, hy);
        counts.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Area);
        counts.setMarker(SeriesMarkers.NONE);
        counts.setFillColor(new Color(160, 160, 160, 90));
        counts.setLineColor(new Color(160, 160, 160, 150));
        counts.setYAxisGroup(1);
        chart.setYAxisGroupTitle(1, "images");
        XYSeries diag = chart.addSeries("perfect calibration", new double[] {0, 1}, new double[] {0, 1});
        diag.setMarker(SeriesMarkers.NONE);
        diag.setLineColor(Color.GRAY);
        if (!mx.isEmpty()) {
            XYSeries model = chart.addSeries("model", mx, my);
            model.setMarker(SeriesMarkers.CIRCLE);
            model.setLineColor(new Color(20, 60, 140));
            model.setMarkerColor(new Color(20, 60, 140));
        }
        chart.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0, 0.0).setYAxisMax(0, 1.0).setYAxisMin(1, 0.0)
                .setXAxisDecimalPattern("0.0").setMarkerSize(7)
                .setYAxisGroupPosition(1, org.knowm.xchart.style.Styler.YAxisPosition.Right)
                .setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        save(chart, file);
    }

    /**
     * Encodes the PNG in memory, then writes it to a temporary file beside {@code file} and renames it. Any failure
     * (disk full, folder not writable, a path that is not a folder) is an IOException naming {@code file}: ImageIO's
     * own message ("I/O error writing PNG file!") names none.
     */
    private static void save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path file) throws IOException {
        try {
            byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".plot", ".png");
            try {
                Files.write(tmp, png);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new IOException("cannot write the plot " + file + ": " + reason(e), e);
        }
    }

    private static String reason(IOException e) {
        if (e instanceof java.nio.file.FileAlreadyExistsException f) {
            return f.getFile() + " exists and is not a folder";
        }
        if (e instanceof java.nio.file.NoSuchFileException f) {
            return "no such file or folder " + f.getFile();
        }
        if (e instanceof java.nio.file.AccessDeniedException f) {
            return "permission denied on " + f.getFile();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
