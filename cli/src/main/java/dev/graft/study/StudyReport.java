package dev.graft.study;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.train.OutputFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;

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

/**
 * The study's table, as the seed papers report theirs: per data set, mean +- sample std of the metric over seeds for
 * each architecture x initialization, and per architecture the paired t-test of WT (pretrained) against RI (random)
 * across the seeds both finished. Written as study.md, study.csv, study.json and one grouped bar chart per data set
 * (study-DATASET.png, error bars one std).
 */
public final class StudyReport {
    /** One table cell: the values over seeds (in seed order) of the seeds that finished. */
    public record Summary(String dataset, String architecture, String init, List<Long> seeds, double[] values, String split, String note) {
        public double mean() {
            return StudyStats.mean(values);
        }

        public double std() {
            return StudyStats.std(values);
        }
    }

    /** WT vs RI for one architecture on one data set. */
    public record Comparison(String dataset, String architecture, StudyStats.PairedT test) {
    }

    private final StudyConfig cfg;
    private final List<Summary> summaries = new ArrayList<>();
    private final List<Comparison> comparisons = new ArrayList<>();

    public StudyReport(StudyConfig cfg, List<StudyRunner.Outcome> outcomes) {
        this.cfg = cfg;
        for (StudyConfig.Dataset d : cfg.datasets()) {
            for (StudyConfig.Architecture a : cfg.architectures()) {
                Map<String, Map<Long, Double>> byInit = new LinkedHashMap<>();
                for (String init : cfg.initializations()) {
                    Map<Long, Double> values = new LinkedHashMap<>();
                    String split = null;
                    String note = null;
                    for (StudyRunner.Outcome o : outcomes) {
                        StudyRunner.Cell c = o.cell();
                        if (c.dataset().equals(d) && c.arch().equals(a) && c.init().equals(init)) {
                            if (!Double.isNaN(o.value())) {
                                values.put(c.seed(), o.value());
                                split = o.split();
                            } else if (o.status().startsWith("n/a")) {
                                note = "n/a";
                            }
                        }
                    }
                    byInit.put(init, values);
                    summaries.add(new Summary(d.name(), a.name(), init, List.copyOf(values.keySet()),
                            values.values().stream().mapToDouble(Double::doubleValue).toArray(), split, note));
                }
                Map<Long, Double> wt = byInit.get("pretrained");
                Map<Long, Double> ri = byInit.get("random");
                if (wt != null && ri != null) {
                    List<Long> both = wt.keySet().stream().filter(ri::containsKey).toList();
                    if (!both.isEmpty()) {
                        double[] x = both.stream().mapToDouble(wt::get).toArray();
                        double[] y = both.stream().mapToDouble(ri::get).toArray();
                        comparisons.add(new Comparison(d.name(), a.name(), StudyStats.pairedT(x, y)));
                    }
                }
            }
        }
    }

    public List<Summary> summaries() {
        return summaries;
    }

    public List<Comparison> comparisons() {
        return comparisons;
    }

    /** "0.8733 ± 0.0125 (n=3)", "0.8733 (n=1)", "n/a", or "-" when no seed finished. */
    static String cell(Summary s) {
        if (s.values().length == 0) {
            return s.note() != null ? s.note() : "-";
        }
        if (s.values().length == 1) {
            return String.format(Locale.ROOT, "%.4f (n=1)", s.mean());
        }
        return String.format(Locale.ROOT, "%.4f ± %.4f (n=%d)", s.mean(), s.std(), s.values().length);
    }

    /** The Markdown tables (also printed on the terminal). */
    public String markdown() {
        StringBuilder md = new StringBuilder();
        for (StudyConfig.Dataset d : cfg.datasets()) {
            String split = summaries.stream().filter(s -> s.dataset().equals(d.name()) && s.split() != null).map(Summary::split)
                    .findFirst().orElse("test");
            md.append("### ").append(d.name()).append(": ").append(metricName()).append(" on the ").append(split)
                    .append(" set, mean ± std over seeds\n\n| architecture |");
            cfg.initializations().forEach(i -> md.append(' ').append(i).append(" |"));
            md.append("\n|---|");
            cfg.initializations().forEach(i -> md.append("---|"));
            md.append('\n');
            for (StudyConfig.Architecture a : cfg.architectures()) {
                md.append("| ").append(a.name()).append(" |");
                for (Summary s : summaries) {
                    if (s.dataset().equals(d.name()) && s.architecture().equals(a.name())) {
                        md.append(' ').append(cell(s)).append(" |");
                    }
                }
                md.append('\n');
            }
            List<Comparison> cs = comparisons.stream().filter(c -> c.dataset().equals(d.name())).toList();
            if (!cs.isEmpty()) {
                md.append("\nWT (pretrained) vs RI (random), paired t-test across seeds (two-sided):\n\n")
                        .append("| architecture | n | mean difference | t | df | p |\n|---|---|---|---|---|---|\n");
                for (Comparison c : cs) {
                    StudyStats.PairedT t = c.test();
                    md.append(String.format(Locale.ROOT, "| %s | %d | %+.4f | %s | %d | %s |%n", c.architecture(), t.n(), t.meanDifference(),
                            Double.isNaN(t.t()) ? "-" : String.format(Locale.ROOT, "%.3f", t.t()), t.df(),
                            Double.isNaN(t.p()) ? "-" : String.format(Locale.ROOT, "%.4f", t.p())));
                }
                int n = cs.stream().mapToInt(c -> c.test().n()).min().orElse(0);
                if (n <= 5) {
                    md.append("\nWith n = ").append(n).append(" seeds the test has ").append(Math.max(0, n - 1))
                            .append(" degree(s) of freedom: only a large, consistent difference reaches p < 0.05 (with n = 3, "
                                    + "|t| must exceed 4.30), and seeds vary the initialization and the training order, not the "
                                    + "data; read p as a rough signal, not as evidence.\n");
                }
            }
            md.append('\n');
        }
        return md.toString();
    }

    private String metricName() {
        return switch (cfg.metric()) {
            case "accuracy" -> "accuracy (argmax)";
            case "balanced-accuracy" -> "balanced accuracy";
            default -> "ROC AUC";
        };
    }

    /** One row per table cell: dataset, architecture, initialization, split, n, mean, std, the values by seed. */
    public String csv() {
        StringBuilder b = new StringBuilder("dataset,architecture,initialization,metric,split,n,mean,std,seeds,values\n");
        for (Summary s : summaries) {
            b.append(String.join(",", s.dataset(), s.architecture(), s.init(), cfg.metric(), s.split() == null ? "" : s.split(),
                    Integer.toString(s.values().length), num(s.mean()), num(s.std()),
                    String.join(" ", s.seeds().stream().map(String::valueOf).toList()),
                    String.join(" ", java.util.Arrays.stream(s.values()).mapToObj(StudyReport::num).toList()))).append('\n');
        }
        return b.toString();
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6f", v);
    }

    /** Writes study.md, study.csv, study.json and study-DATASET.png into {@code out} (each atomically). */
    public void write(Path out) throws IOException {
        OutputFiles.write(out.resolve("study.md"), ("# Study: " + cfg.file().getFileName() + "\n\n" + markdown()).getBytes(StandardCharsets.UTF_8));
        OutputFiles.write(out.resolve("study.csv"), csv().getBytes(StandardCharsets.UTF_8));
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("metric", cfg.metric());
        List<Map<String, Object>> cells = new ArrayList<>();
        for (Summary s : summaries) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("dataset", s.dataset());
            m.put("architecture", s.architecture());
            m.put("initialization", s.init());
            m.put("split", s.split());
            m.put("seeds", s.seeds());
            m.put("values", s.values());
            m.put("mean", Double.isNaN(s.mean()) ? null : s.mean());
            m.put("std", Double.isNaN(s.std()) ? null : s.std());
            cells.add(m);
        }
        json.put("cells", cells);
        List<Map<String, Object>> tests = new ArrayList<>();
        for (Comparison c : comparisons) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("dataset", c.dataset());
            m.put("architecture", c.architecture());
            m.put("comparison", "pretrained - random, paired by seed");
            m.put("n", c.test().n());
            m.put("mean_difference", c.test().meanDifference());
            m.put("t", Double.isNaN(c.test().t()) ? null : c.test().t());
            m.put("df", c.test().df());
            m.put("p_two_sided", Double.isNaN(c.test().p()) ? null : c.test().p());
            tests.add(m);
        }
        json.put("wt_vs_ri", tests);
        OutputFiles.write(out.resolve("study.json"), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(json));
        for (StudyConfig.Dataset d : cfg.datasets()) {
            OutputFiles.write(out.resolve("study-" + d.name() + ".png"), chart(d.name()));
        }
    }

    /** Grouped bars: architectures on the x axis, one series per initialization, error bars one std. */
    byte[] chart(String dataset) throws IOException {
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = new CategoryChartBuilder().width(800).height(600)
                .title(dataset + ": " + metricName() + " (mean ± std over seeds)").xAxisTitle("architecture").yAxisTitle(metricName()).build();
        var st = chart.getStyler();
        st.setChartBackgroundColor(Color.WHITE);
        st.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 20));
        st.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 17));
        st.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 15));
        st.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 15));
        st.setErrorBarsColor(Color.BLACK);
        double lo = 1;
        for (Summary s : summaries) {
            if (s.dataset().equals(dataset) && s.values().length > 0) {
                lo = Math.min(lo, s.mean() - (Double.isNaN(s.std()) ? 0 : s.std()));
            }
        }
        st.setYAxisMin(Math.max(0, Math.floor(lo * 10 - 1) / 10)); // differences of a few points stay visible
        st.setYAxisMax(1.0);
        List<String> archs = cfg.architectures().stream().map(StudyConfig.Architecture::name).toList();
        for (String init : cfg.initializations()) {
            List<Double> means = new ArrayList<>();
            List<Double> errors = new ArrayList<>();
            for (String a : archs) {
                Summary s = summaries.stream().filter(x -> x.dataset().equals(dataset) && x.architecture().equals(a) && x.init().equals(init))
                        .findFirst().orElseThrow();
                means.add(s.values().length == 0 ? 0.0 : s.mean());
                errors.add(s.values().length < 2 ? 0.0 : s.std());
            }
            chart.addSeries(init, archs, means, errors);
        }
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }
}
