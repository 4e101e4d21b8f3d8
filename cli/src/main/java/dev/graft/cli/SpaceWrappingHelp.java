package dev.graft.cli;

import picocli.CommandLine;
import picocli.CommandLine.Help.Ansi.Text;
import picocli.CommandLine.Help.Column;
import picocli.CommandLine.Help.ColorScheme;
import picocli.CommandLine.Help.TextTable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * picocli's help, wrapped at spaces only. picocli wraps with Java's line {@code BreakIterator}, which allows a break
 * after a '.' or ',' or before a '(' inside a word, so "metrics.json" or "graft.threshold" came out as "metrics." and
 * "json" on two lines (picocli guards only '-'). The texts are the same; only where lines end differs. A word wider
 * than its column is still cut.
 */
final class SpaceWrappingHelp extends CommandLine.Help {
    static final CommandLine.IHelpFactory FACTORY = SpaceWrappingHelp::new;

    SpaceWrappingHelp(CommandSpec spec, ColorScheme scheme) {
        super(spec, scheme);
    }

    @Override
    public Layout createDefaultLayout(List<OptionSpec> options, List<PositionalParamSpec> positionals, ColorScheme scheme) {
        Layout layout = super.createDefaultLayout(options, positionals, scheme);
        return new Layout(scheme, Table.copyOf(layout.textTable(), scheme), layout.optionRenderer(), layout.parameterRenderer());
    }

    /** As picocli's: each command's names and the first line of its header, else of its description. */
    @Override
    public String commandList(Map<String, CommandLine.Help> subcommands) {
        if (subcommands.isEmpty()) {
            return "";
        }
        int width = commandSpec().usageMessage().width();
        int names = Math.min(width / 2, subcommands.keySet().stream().mapToInt(String::length).max().orElse(0));
        Table table = new Table(colorScheme(), new Column(names + 2, 2, Column.Overflow.SPAN),
                new Column(width - (names + 2), 2, Column.Overflow.WRAP));
        table.setAdjustLineBreaksForWideCJKCharacters(commandSpec().usageMessage().adjustLineBreaksForWideCJKCharacters());
        for (CommandLine.Help help : subcommands.values()) {
            var usage = help.commandSpec().usageMessage();
            String summary = usage.header().length > 0 ? usage.header()[0] : usage.description().length > 0 ? usage.description()[0] : "";
            Text[] lines = colorScheme().text(String.format(summary)).splitLines();
            for (int i = 0; i < lines.length; i++) {
                table.addRowValues(i == 0 ? help.commandNamesText(", ") : colorScheme().text(""), lines[i]);
            }
        }
        return table.toString();
    }

    /** As picocli's: each description element formatted with {@code params}, split at line breaks, wrapped to the width. */
    @Override
    public String description(Object... params) {
        String[] lines = commandSpec().usageMessage().description();
        if (lines.length == 0) {
            return "";
        }
        Table table = new Table(colorScheme(), new Column(commandSpec().usageMessage().width(), 0, Column.Overflow.WRAP));
        table.setAdjustLineBreaksForWideCJKCharacters(commandSpec().usageMessage().adjustLineBreaksForWideCJKCharacters());
        table.indentWrappedLines = 0;
        for (String line : lines) {
            for (Text t : ansi().new Text(String.format(line, params), colorScheme()).splitLines()) {
                table.addRowValues(t);
            }
        }
        return table.toString(new StringBuilder()).toString();
    }

    /** A text table whose wrapping columns break lines at spaces. */
    static final class Table extends TextTable {
        private final ColorScheme scheme;

        Table(ColorScheme scheme, Column... columns) {
            super(scheme, columns);
            this.scheme = scheme;
        }

        static Table copyOf(TextTable t, ColorScheme scheme) {
            Table out = new Table(scheme, t.columns());
            out.indentWrappedLines = t.indentWrappedLines;
            out.setAdjustLineBreaksForWideCJKCharacters(t.isAdjustLineBreaksForWideCJKCharacters());
            return out;
        }

        @Override
        public Cell putValue(int row, int col, Text value) {
            Column c = columns()[col];
            if (value == null || c.overflow != Column.Overflow.WRAP) {
                return super.putValue(row, col, value);
            }
            // One column less than the width: picocli keeps the last column of a cell free.
            List<int[]> lines = lines(value.plainString(), c.width - c.indent - 1, c.width - c.indent - indentWrappedLines - 1);
            if (lines.size() <= 1) {
                return super.putValue(row, col, value);
            }
            Cell cell = null;
            int r = row;
            for (int i = 0; i < lines.size(); i++) {
                Text part = value.substring(lines.get(i)[0], lines.get(i)[1]);
                if (i > 0) {
                    r = cell.row + 1;
                    if (r >= rowCount()) {
                        addEmptyRow();
                    }
                    part = scheme.ansi().new Text(" ".repeat(indentWrappedLines), scheme).concat(part);
                }
                cell = super.putValue(r, col, part);
            }
            return cell;
        }

        /**
         * [start, end) of each line of {@code s}: greedy, breaking at spaces (dropped at the break), the first line at
         * most {@code first} characters, the others {@code next}; a word longer than a line is cut.
         */
        static List<int[]> lines(String s, int first, int next) {
            List<int[]> out = new ArrayList<>();
            int start = 0;
            int n = s.length();
            while (start < n) {
                int max = Math.max(1, out.isEmpty() ? first : next);
                if (n - start <= max) {
                    out.add(new int[] {start, n});
                    break;
                }
                int cut = s.lastIndexOf(' ', start + max);
                int end;
                int resume;
                if (cut > start) {
                    end = cut;
                    resume = cut + 1;
                } else {
                    end = start + max;
                    resume = end;
                }
                while (end > start && s.charAt(end - 1) == ' ') {
                    end--;
                }
                out.add(new int[] {start, end});
                while (resume < n && s.charAt(resume) == ' ') {
                    resume++;
                }
                start = resume;
            }
            return out;
        }
    }
}
