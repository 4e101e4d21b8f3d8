package dev.graft.train;

import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.awt.Font;
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

    /** Sizes and fonts that read at 100% zoom in a report (an 800 x 600 PNG shown at its own size). */
    static final int WIDTH = 800;
    static final int HEIGHT = 600;
    private static final Font TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 20);
    private static final Font AXIS_TITLE_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 17);
    private static final Font TICK_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 15);
    private static final Font LEGEND_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 15);
    private static final Color BEST = new Color(0, 140, 70);

    static void readable(org.knowm.xchart.style.AxesChartStyler s) {
        s.setChartTitleFont(TITLE_FONT);
        s.setAxisTitleFont(AXIS_TITLE_FONT);
        s.setAxisTickLabelsFont(TICK_FONT);
        s.setLegendFont(LEGEND_FONT);
        s.setAnnotationTextFont(LEGEND_FONT);
        s.setChartBackgroundColor(Color.WHITE);
    }

    /**
     * One line per series against epoch number (1-based across both phases); a dashed vertical line marks where
     * phase 2 (fine-tuning) starts when {@code phaseBoundary > 0}. NaN points are left out.
     */
    public static void curves(Path file, String title, String yLabel, Map<String, double[]> series, int phaseBoundary) throws IOException {
        curves(file, title, yLabel, series, phaseBoundary, 0, null);
    }

    /**
     * {@link #curves(Path, String, String, Map, int)} with the epoch axis labelled at whole epochs only, and a green
     * vertical line at {@code bestEpoch} (1-based; 0 for none) whose legend entry is {@code bestLabel}.
     */
    public static void curves(Path file, String title, String yLabel, Map<String, double[]> series, int phaseBoundary,
                              int bestEpoch, String bestLabel) throws IOException {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("epoch").yAxisTitle(yLabel).build();
        readable(chart.getStyler());
        chart.getStyler().setMarkerSize(8).setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS)
                .setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        int epochs = 0;
        for (Map.Entry<String, double[]> e : series.entrySet()) {
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            double[] v = e.getValue();
            epochs = Math.max(epochs, v.length);
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
            s.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH);
        }
        if (bestEpoch > 0 && lo <= hi) {
            XYSeries s = chart.addSeries(bestLabel == null ? "best epoch " + bestEpoch : bestLabel,
                    new double[] {bestEpoch, bestEpoch}, new double[] {lo, hi});
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(BEST);
            s.setLineWidth(2.5f);
        }
        // Whole epochs only: XChart may place ticks at 0.5 or 2.5 steps; those stay unlabelled.
        chart.getStyler().setXAxisMin(epochs > 1 ? 1.0 : 0.5).setXAxisMax(epochs > 1 ? (double) epochs : 1.5)
                .setxAxisTickLabelsFormattingFunction(x -> Math.abs(x - Math.rint(x)) < 1e-9 ? Long.toString(Math.round(x)) : "");
        save(chart, file);
    }

    public static void roc(Path file, Roc roc, String positiveClass) throws IOException {
        roc(file, roc, positiveClass, null, null);
    }

    public static void roc(Path file, Roc roc, String positiveClass, String dataSet, Metrics.Binary operatingPoint) throws IOException {
        roc(file, roc, positiveClass, dataSet, operatingPoint, null);
    }

    /**
     * The ROC curve of one data set ({@code dataSet} names it in the title; null leaves it out) with the operating
     * point of the decision rule marked (null: none): the point (1 - specificity, sensitivity) at its threshold, which
     * is a vertex of the curve because both predict positive when P(positive) >= threshold. With {@code u} (null:
     * none) its pointwise 95% bootstrap band ({@link Uncertainty.RocBand}) is shaded behind the curve, and the AUC's
     * bootstrap and DeLong intervals are in the title and legend.
     */
    public static void roc(Path file, Roc roc, String positiveClass, String dataSet, Metrics.Binary operatingPoint, Uncertainty u)
            throws IOException {
        Uncertainty.Interval boot = u == null ? null : u.bootstrap().get("roc_auc");
        String auc = boot == null || Double.isNaN(boot.lower()) ? String.format(java.util.Locale.ROOT, "AUC %.4f", roc.auc())
                : String.format(java.util.Locale.ROOT, "AUC %.3f [%.3f, %.3f]", roc.auc(), boot.lower(), boot.upper());
        String title = "ROC" + (dataSet == null ? "" : " on " + shorten(dataSet, 30)) + ", " + auc;
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("1 - specificity").yAxisTitle("sensitivity (positive: " + shorten(positiveClass, 24) + ")").build();
        readable(chart.getStyler());
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideSE).setMarkerSize(12);
        if (u != null && u.rocBand() != null) { // first, so the curve is drawn over it
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
        }
        String name = dataSet == null ? "ROC" : shorten(dataSet, 40);
        if (u != null && u.delongAuc() != null && !Double.isNaN(u.delongAuc().lower())) {
            name += String.format(java.util.Locale.ROOT, " (AUC DeLong 95%% CI %.3f-%.3f)", u.delongAuc().lower(), u.delongAuc().upper());
        }
        XYSeries s = chart.addSeries(name, roc.fpr(), roc.tpr());
        s.setMarker(SeriesMarkers.NONE);
        s.setLineWidth(2.5f);
        s.setLineColor(new Color(20, 60, 140));
        addChance(chart);
        if (operatingPoint != null && !Double.isNaN(operatingPoint.sensitivity()) && !Double.isNaN(operatingPoint.specificity())) {
            double x = 1 - operatingPoint.specificity(), y = operatingPoint.sensitivity();
            XYSeries p = chart.addSeries(String.format(java.util.Locale.ROOT, "operating point: threshold %.3f, sens %.1f%%, spec %.1f%%",
                    operatingPoint.threshold(), 100 * operatingPoint.sensitivity(), 100 * operatingPoint.specificity()),
                    new double[] {x}, new double[] {y});
            p.setMarker(SeriesMarkers.DIAMOND);
            p.setMarkerColor(Color.RED);
            p.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.NONE);
            // The label sits beside the marker, on the side with room (the curve hugs the top-left corner).
            chart.addAnnotation(new AnnotationText(String.format(java.util.Locale.ROOT, "t = %.3f", operatingPoint.threshold()),
                    Math.min(0.9, x + 0.1), Math.max(0.05, y - 0.06), false));
        }
        save(chart, file);
    }

    /** Several ROC curves on one chart (legend: name and AUC). */
    public static void rocCurves(Path file, String title, Map<String, Roc> curves) throws IOException {
        save(rocChart(title, curves), file);
    }

    private static XYChart rocChart(String title, Map<String, Roc> curves) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("1 - specificity").yAxisTitle("sensitivity").build();
        readable(chart.getStyler());
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideSE).setMarkerSize(12);
        for (Map.Entry<String, Roc> e : curves.entrySet()) {
            String name = curves.size() == 1 ? e.getKey() : String.format(java.util.Locale.ROOT, "%s (AUC %.3f)", e.getKey(), e.getValue().auc());
            XYSeries s = chart.addSeries(name, e.getValue().fpr(), e.getValue().tpr());
            s.setMarker(SeriesMarkers.NONE);
            s.setLineWidth(2.5f);
        }
        addChance(chart);
        return chart;
    }

    /** The chance diagonal and unit axes at tenths. */
    private static void addChance(XYChart chart) {
        // XChart puts the x ticks at the data's own x values when all of them are equally spaced, and a ROC's false
        // positive rates are multiples of 1/negatives: with 500 negatives and large tick fonts that gave ticks every
        // 0.072 labelled "0.1, 0.2, ..." by the decimal pattern, so the curve seemed to end at 1.04. The diagonal's
        // middle point at 1/pi (irrational, so on no such grid) keeps the x values unequally spaced, and XChart then
        // places ticks at round steps.
        double[] diagonal = {0, 1 / Math.PI, 1};
        XYSeries d = chart.addSeries("chance", diagonal, diagonal);
        d.setMarker(SeriesMarkers.NONE);
        d.setLineColor(Color.LIGHT_GRAY);
        chart.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0)
                .setXAxisDecimalPattern("0.0").setYAxisDecimalPattern("0.0").setYAxisTickMarkSpacingHint(60);
    }

    public static void confusion(Path file, Metrics m) throws IOException {
        confusion(file, m, null);
    }

    /**
     * The confusion matrix as a heat map: rows are the true class, columns the predicted class (in class order, as the
     * printed table); each cell shows its count and its share of the row (the class's recall on the diagonal), and
     * its colour is that share. Drawn with Java2D: XChart's heat map can show only one number per cell.
     */
    public static void confusion(Path file, Metrics m, String dataSet) throws IOException {
        savePng(ConfusionImage.draw(m, dataSet == null ? "Confusion matrix" : "Confusion matrix on " + shorten(dataSet, 40), TITLE_FONT,
                AXIS_TITLE_FONT, TICK_FONT), file);
    }

    /** {@code text} made printable and cut to {@code max} characters (an ellipsis marks the cut). */
    static String shorten(String text, int max) {
        String s = dev.graft.models.PrintableText.escape(text);
        return s.length() <= max ? s : s.substring(0, max - 1) + "\u2026";
    }

    /**
     * Reliability diagram: observed frequency against mean predicted probability per non-empty bin, the diagonal of
     * perfect calibration, and the images per bin as a shaded histogram on the right axis; ECE in the title.
     */
    public static void reliability(Path file, Reliability r) throws IOException {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title(String.format(java.util.Locale.ROOT, "Reliability, ECE %.3f (%d bins)", r.ece(), Reliability.BINS))
                .xAxisTitle("predicted " + r.binned()).yAxisTitle("observed frequency").build();
        readable(chart.getStyler());
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
        savePng(BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG), file);
    }

    /** Writes PNG bytes atomically (temporary file beside {@code file}, then a rename); the error names {@code file}. */
    static void savePng(byte[] png, Path file) throws IOException {
        try {
            OutputFiles.write(file, png);
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
