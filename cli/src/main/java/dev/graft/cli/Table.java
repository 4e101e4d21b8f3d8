package dev.graft.cli;

import dev.graft.models.PrintableText;

import java.util.ArrayList;
import java.util.List;

/**
 * A plain-text table with aligned columns for terminal output (numbers right-aligned). Every cell is printed through
 * {@link PrintableText}: a class name or file name with control characters cannot break the layout or reach the
 * terminal as an escape sequence.
 */
public final class Table {
    private final List<String> header;
    private final List<List<String>> rows = new ArrayList<>();

    public Table(String... header) {
        List<String> h = new ArrayList<>();
        for (String c : header) {
            h.add(PrintableText.escape(c));
        }
        this.header = List.copyOf(h);
    }

    public Table row(Object... cells) {
        List<String> r = new ArrayList<>();
        for (Object c : cells) {
            r.add(c == null ? "" : PrintableText.escape(c.toString()));
        }
        rows.add(r);
        return this;
    }

    /** Formats a ratio as a percentage with one decimal, or n/a when undefined. */
    public static String pct(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(java.util.Locale.ROOT, "%.1f%%", 100 * v);
    }

    public static String num(double v, int decimals) {
        return Double.isNaN(v) ? "n/a" : String.format(java.util.Locale.ROOT, "%." + decimals + "f", v);
    }

    @Override
    public String toString() {
        int cols = header.size();
        int[] width = new int[cols];
        for (int c = 0; c < cols; c++) {
            width[c] = header.get(c).length();
            for (List<String> r : rows) {
                width[c] = Math.max(width[c], c < r.size() ? r.get(c).length() : 0);
            }
        }
        StringBuilder b = new StringBuilder();
        line(b, header, width, true);
        for (int c = 0; c < cols; c++) {
            b.append(c == 0 ? "" : "  ").append("-".repeat(width[c]));
        }
        b.append('\n');
        for (List<String> r : rows) {
            line(b, r, width, false);
        }
        return b.toString();
    }

    private static void line(StringBuilder b, List<String> cells, int[] width, boolean header) {
        for (int c = 0; c < width.length; c++) {
            String v = c < cells.size() ? cells.get(c) : "";
            boolean right = !header && c > 0 && looksNumeric(v);
            String pad = " ".repeat(width[c] - v.length());
            b.append(c == 0 ? "" : "  ").append(right ? pad + v : v + (c == width.length - 1 ? "" : pad));
        }
        b.append('\n');
    }

    private static boolean looksNumeric(String v) {
        return !v.isEmpty() && (Character.isDigit(v.charAt(0)) || v.charAt(0) == '-' || v.equals("n/a"));
    }
}
