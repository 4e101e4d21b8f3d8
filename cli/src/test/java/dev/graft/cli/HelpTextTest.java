package dev.graft.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Help.Ansi;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The help texts as a user reads them, rendered at picocli's default width of 80 columns (no auto width: the
 * width users see is the one checked here).
 */
class HelpTextTest {
    private static final CommandLine CLI = GraftCli.commandLine();

    /** Every command and its usage message, without colours. */
    private static Map<String, String> usages() {
        Map<String, String> out = new java.util.LinkedHashMap<>();
        out.put("graft", CLI.getUsageMessage(Ansi.OFF));
        CLI.getSubcommands().forEach((name, cl) -> out.put(name, cl.getUsageMessage(Ansi.OFF)));
        return out;
    }

    /**
     * Java's line BreakIterator, which picocli wraps with, allows a break after a '.' inside a word ("metrics.",
     * "json"; picocli guards only '-'), so a file or key name at a wrap point is split across lines. Every word of
     * every description, once wrapped, must still appear whole.
     */
    @Test
    void noWordIsBrokenAcrossLines() {
        List<String> broken = new ArrayList<>();
        for (Map.Entry<String, String> u : usages().entrySet()) {
            if (u.getKey().equals("help")) {
                continue; // picocli's own
            }
            CommandSpec spec = u.getKey().equals("graft") ? CLI.getCommandSpec() : CLI.getSubcommands().get(u.getKey()).getCommandSpec();
            List<String> texts = new ArrayList<>(List.of(spec.usageMessage().description()));
            spec.options().stream().filter(o -> !o.hidden()).forEach(o -> texts.addAll(List.of(o.description())));
            spec.positionalParameters().forEach(p -> texts.addAll(List.of(p.description())));
            // The command list shows each command's first description line (picocli's own help command: its header).
            spec.subcommands().forEach((name, s) -> texts.add(name.equals("help") ? s.getCommandSpec().usageMessage().header()[0]
                    : s.getCommandSpec().usageMessage().description()[0]));
            for (String text : texts) {
                for (String word : text.split("\\s+")) {
                    // Placeholders are substituted; a word wider than the description column must break somewhere.
                    if (word.contains("${") || word.contains("%n") || word.length() > 30) {
                        continue;
                    }
                    if (!u.getValue().contains(word)) {
                        broken.add(u.getKey() + ": '" + word + "'");
                    }
                }
            }
        }
        assertEquals(List.of(), broken, "words broken across lines in the help");
    }

    /** picocli's command list shows only a description's first element: it must be a whole sentence. */
    @Test
    void eachCommandSummaryIsACompleteSentence() {
        for (Map.Entry<String, CommandLine> e : CLI.getSubcommands().entrySet()) {
            if (e.getKey().equals("help")) {
                continue; // picocli's own, summarised by its header
            }
            String[] d = e.getValue().getCommandSpec().usageMessage().description();
            assertTrue(d.length > 0, e.getKey() + " has no description");
            String first = d[0].strip();
            assertTrue(first.endsWith(".") && Character.isUpperCase(first.charAt(0)),
                    e.getKey() + "'s summary is not a whole sentence: " + first);
        }
    }

    @Test
    void everyVisibleOptionIsDescribed() {
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, CommandLine> e : CLI.getSubcommands().entrySet()) {
            for (OptionSpec o : e.getValue().getCommandSpec().options()) {
                if (!o.hidden() && String.join("", o.description()).isBlank()) {
                    missing.add(e.getKey() + " " + o.longestName());
                }
            }
        }
        assertEquals(List.of(), missing, "options without a description");
    }

    @Test
    void augmentShowsItsDefaultAndTheFooterNamesArgumentFiles() {
        String train = usages().get("train").replaceAll("\\s+", " ");
        assertTrue(train.contains("default (used when the option is absent): random crops of 75-100% of the area"), train);
        String top = usages().get("graft").replaceAll("\\s+", " ");
        assertTrue(top.contains("@FILE"), top);
        assertTrue(top.contains("--verbose"), top);
    }
}
