package dev.graft.train;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The range test's plot: smoothed loss against learning rate on a log axis, each suggestion a marked point. */
final class LrFindPlot {
    private static final Color[] MARKS = {new Color(200, 30, 30), new Color(30, 90, 200), new Color(0, 140, 70)};

    private LrFindPlot() {
    }

    static void write(Path file, LrFinder.Curve c, List<LrSweep.Suggestion> suggestions, String phase) throws IOException {
        XYChart chart = new XYChartBuilder().width(Plots.WIDTH).height(Plots.HEIGHT)
                .title("Learning rate range test (" + phase + ")").xAxisTitle("learning rate (log scale)")
                .yAxisTitle("smoothed training loss").build();
        Plots.readable(chart.getStyler());
        // XChart's own decade ticks: a custom label function would switch the axis to linear ticks.
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setMarkerSize(10).setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS)
                .setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Vertical);
        if (c.lrs().length == 0) {
            // Nothing ran (the first loss was not finite): an empty, labelled chart rather than none.
            chart.addSeries("no finite loss", new double[] {1}, new double[] {0}).setMarker(SeriesMarkers.NONE);
        } else {
            XYSeries curve = chart.addSeries("smoothed loss", c.lrs(), c.smoothed());
            curve.setMarker(SeriesMarkers.NONE);
            curve.setLineColor(Color.DARK_GRAY);
        }
        for (int i = 0; i < suggestions.size(); i++) {
            LrSweep.Suggestion g = suggestions.get(i);
            String label = (i == 0 ? "suggestion: " : "") + g.method() + " " + LrSweep.format(g.lr());
            XYSeries s = chart.addSeries(label, new double[] {c.lrs()[g.index()]}, new double[] {c.smoothed()[g.index()]});
            s.setMarker(i == 0 ? SeriesMarkers.DIAMOND : SeriesMarkers.CIRCLE);
            s.setMarkerColor(MARKS[i % MARKS.length]);
            s.setLineStyle(org.knowm.xchart.style.lines.SeriesLines.NONE);
        }
        Plots.savePng(BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG), file);
    }
}
