package dev.graft.train;

import dev.graft.cli.Table;
import dev.graft.models.PrintableText;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One self-contained HTML page ({@code report.html}): headings, tables, PNG plots and the top-loss gallery, with
 * every image embedded as a {@code data:} URI and the style inline, so it opens offline and can be mailed as one
 * file. No scripts, fonts or links to anything outside the page. All text is escaped ({@link #escape}).
 */
public final class HtmlReport {
    private static final String STYLE = """
            body{font-family:sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.4}
            h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ccc;margin-top:1.6em}
            table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
            td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f2f2f2}
            img.plot{max-width:100%;height:auto;display:block;margin:.6em 0}
            .gallery{display:flex;flex-wrap:wrap;gap:12px}.gallery figure{margin:0;width:224px;font-size:.85em}
            .gallery img{width:224px;height:224px;display:block}.wrong{color:#b00000}.file{color:#666;word-break:break-all}
            """;

    private final String title;
    private final StringBuilder body = new StringBuilder();
    private final int headerLength;

    public HtmlReport(String title) {
        this.title = title;
        body.append("<h1>").append(escape(title)).append("</h1>\n");
        body.append("<p class=\"file\">written ").append(escape(Instant.now().toString())).append(" by ").append(escape(version()))
                .append("</p>\n");
        headerLength = body.length();
    }

    /** Graft's version and revision ({@code --version}'s), Java's and the operating system's. */
    public static String version() {
        return dev.graft.cli.Version.describe() + ", Java " + Runtime.version() + ", "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch");
    }

    public HtmlReport heading(String text) {
        body.append("<h2>").append(escape(text)).append("</h2>\n");
        return this;
    }

    public HtmlReport paragraph(String text) {
        body.append("<p>").append(escape(text)).append("</p>\n");
        return this;
    }

    /** A table; cells that look like numbers (or percentages, or n/a) are right-aligned. */
    public HtmlReport table(List<String> header, List<List<String>> rows) {
        body.append("<table>\n<tr>");
        for (String h : header) {
            body.append("<th>").append(escape(h)).append("</th>");
        }
        body.append("</tr>\n");
        for (List<String> row : rows) {
            body.append("<tr>");
            for (int i = 0; i < row.size(); i++) {
                String v = row.get(i) == null ? "" : row.get(i);
                boolean num = i > 0 && (v.equals("n/a") || v.matches("-?[0-9][0-9.,]*%?( \\(.*\\))?"));
                body.append(num ? "<td class=\"n\">" : "<td>").append(escape(v)).append("</td>");
            }
            body.append("</tr>\n");
        }
        body.append("</table>\n");
        return this;
    }

    /** A two-column table of names and values (values printed with {@code String.valueOf}). */
    public HtmlReport keyValues(Map<String, ?> values) {
        List<List<String>> rows = new ArrayList<>();
        values.forEach((k, v) -> rows.add(List.of(k, String.valueOf(v))));
        return table(List.of("setting", "value"), rows);
    }

    /** Embeds a PNG file; a missing file (a plot not made for this data, such as a ROC of one class) is left out. */
    public HtmlReport image(Path png, String alt) throws IOException {
        if (Files.isRegularFile(png)) {
            body.append("<img class=\"plot\" alt=\"").append(escape(alt)).append("\" src=\"").append(dataUri(png)).append("\">\n");
        }
        return this;
    }

    /** The metrics tables of one evaluation: overall and two-class figures, per class, confusion with row %. */
    public HtmlReport metrics(Metrics m) {
        table(List.of("metric", "value"), Report.overallRows(m));
        if (Report.intervalNote(m) != null) {
            paragraph(Report.intervalNote(m) + ".");
        }
        List<List<String>> per = new ArrayList<>();
        for (int k = 0; k < m.classes().size(); k++) {
            per.add(List.of(m.classes().get(k), Table.pct(m.precision()[k]), Table.pct(m.recall()[k]), Integer.toString(m.support()[k])));
        }
        table(List.of("class", "precision", "recall", "support"), per);
        List<String> head = new ArrayList<>(List.of("true \\ predicted"));
        head.addAll(m.classes());
        double[][] pct = m.confusionRowPercent();
        List<List<String>> conf = new ArrayList<>();
        for (int t = 0; t < m.classes().size(); t++) {
            List<String> row = new ArrayList<>(List.of(m.classes().get(t)));
            for (int p = 0; p < m.classes().size(); p++) {
                row.add(m.confusion()[t][p] + " (" + Table.pct(pct[t][p] / 100) + ")");
            }
            conf.add(row);
        }
        paragraph("Confusion matrix: rows are the true class, columns the predicted class; each cell is a count and its "
                + "percentage of the row.");
        return table(head, conf);
    }

    /** The top-loss gallery: each thumbnail (read from {@code outDir}) with its true and predicted class, P and loss. */
    public HtmlReport gallery(TopLosses top, List<String> classes, Path outDir) throws IOException {
        if (top.entries().isEmpty()) {
            return this;
        }
        body.append("<div class=\"gallery\">\n");
        for (TopLosses.Entry e : top.entries()) {
            boolean wrong = e.trueClass() != e.predictedClass();
            body.append("<figure><img alt=\"top loss ").append(e.rank()).append("\" src=\"").append(dataUri(outDir.resolve(e.thumbnail())))
                    .append("\"><figcaption>#").append(e.rank()).append(" true: ").append(escape(classes.get(e.trueClass())))
                    .append("<br><span").append(wrong ? " class=\"wrong\"" : "").append(">predicted: ")
                    .append(escape(classes.get(e.predictedClass()))).append("</span><br>")
                    .append(escape(String.format(Locale.ROOT, "P %.3f, loss %.3f", e.predictedProbability(), e.loss())))
                    .append("<br><span class=\"file\">").append(escape(e.file().toString())).append("</span></figcaption></figure>\n");
        }
        body.append("</div>\n");
        return this;
    }

    /** The sections added so far, without the page, title and "written" line: for adding to a page already written. */
    public String sections() {
        return body.substring(headerLength);
    }

    public String html() {
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escape(title) + "</title>\n<style>\n"
                + STYLE + "</style>\n</head>\n<body>\n" + body + "</body>\n</html>\n";
    }

    /** Writes the page atomically (temporary file, then a rename). */
    public void write(Path file) throws IOException {
        try {
            OutputFiles.write(file, html().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IOException("cannot write the report " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Text made safe inside HTML elements and double-quoted attributes: {@code & < > " '} become character references
     * and control characters become visible escapes ({@link PrintableText}), so a class or file name cannot add markup.
     */
    public static String escape(String text) {
        String s = PrintableText.escape(text);
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    private static String dataUri(Path png) throws IOException {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(png));
    }
}
