package dev.graft.tests.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Class names come from the model file, which may come from anyone: printed on the terminal their control
 * characters are escaped (an escape sequence cannot recolour or clear the screen, a newline cannot forge a row), and
 * in {@code --csv} every field is quoted as RFC 4180 says, so a comma, a quote or a newline in a name keeps the
 * columns. Error lines that quote a name stay one line.
 */
class UntrustedTextTest {
    private static final String ESC = "\u001b";
    /** A comma, a quote, an escape sequence that clears the screen, a newline and a carriage return. */
    private static final List<String> HOSTILE = List.of("nor,mal", "pneu\"monia" + ESC + "[2J\nfake row\rx");
    private static final String HOSTILE_JSON = "[\"nor,mal\",\"pneu\\\"monia\\u001b[2J\\nfake row\\rx\"]";

    @TempDir
    Path dir;

    private Path model(Map<String, String> extra) {
        Map<String, String> meta = new java.util.HashMap<>(extra);
        meta.put("graft.classes", HOSTILE_JSON);
        return DecisionFixtures.model(dir.resolve("hostile.safetensors"), 1, meta);
    }

    @Test
    void csvFieldsAreQuotedAndControlCharactersEscaped() {
        List<Path> images = DecisionFixtures.images(dir.resolve("images"), 2);
        Cli.Run r = Cli.ok("predict", "--model", model(Map.of()), "--csv", "--device", "reference", images.get(0), images.get(1));
        assertFalse(r.out().contains(ESC), "an escape character reached stdout: " + r.out());
        List<List<String>> records = parseCsv(r.out());
        assertEquals(3, records.size(), r::toString);
        assertEquals(List.of("file", "predicted", "p_nor,mal", "p_pneu\"monia\\u001b[2J\nfake row\rx", "error", "threshold"), records.get(0));
        for (List<String> rec : records.subList(1, 3)) {
            assertEquals(6, rec.size(), rec::toString);
            String label = rec.get(1);
            assertTrue(label.equals("nor,mal") || label.equals("pneu\"monia\\u001b[2J\nfake row\rx"), label);
            assertEquals(1.0, Double.parseDouble(rec.get(2)) + Double.parseDouble(rec.get(3)), 1e-5);
        }
    }

    @Test
    void theTableEscapesControlCharacters() {
        List<Path> images = DecisionFixtures.images(dir.resolve("images"), 2);
        Cli.Run r = Cli.ok("predict", "--model", model(Map.of()), "--device", "reference", images.get(0), images.get(1));
        assertFalse(r.out().contains(ESC) || r.out().contains("\r"), "a control character reached the terminal: " + r.out());
        List<String> lines = r.out().strip().lines().toList();
        assertEquals(5, lines.size(), "header, rule, one line per image and the decision: " + r.out());
        assertTrue(lines.get(0).contains("P(pneu\"monia\\u001b[2J\\nfake row\\rx)"), lines.get(0));
    }

    @Test
    void anErrorQuotingAHostileNameStaysOneLine() {
        Path image = DecisionFixtures.images(dir.resolve("images"), 1).get(0);
        Path m = model(Map.of("graft.positive_class", "covid" + ESC + "[31m\nsecond line"));
        Cli.Run r = Cli.userError(Cli.args("predict", "--model", m, "--device", "reference", image),
                "graft.positive_class = 'covid\\u001b[31m\\nsecond line' is neither a class name");
        assertFalse(r.err().contains(ESC));
    }

    /** inspect prints every metadata value: one holding an escape sequence or a newline is escaped too. */
    @Test
    void inspectEscapesMetadata() {
        Path m = model(Map.of("note", "clear" + ESC + "[2J\nforged line"));
        Cli.Run r = Cli.ok("inspect", m);
        assertFalse(r.out().contains(ESC), r.out());
        assertTrue(r.out().contains("  note") && r.out().contains("clear\\u001b[2J\\nforged line"), r.out());
    }

    /** A strict RFC 4180 reader (LF or CRLF record ends): fields, quoted fields with doubled quotes and line breaks. */
    static List<List<String>> parseCsv(String text) {
        List<List<String>> records = new ArrayList<>();
        List<String> record = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int i = 0;
        boolean quoted = false;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    field.append('"');
                    i += 2;
                    continue;
                }
                if (c == '"') {
                    quoted = false;
                    char next = i + 1 < text.length() ? text.charAt(i + 1) : '\n';
                    assertTrue(next == ',' || next == '\n' || next == '\r', "text after a closing quote at " + i);
                } else {
                    field.append(c);
                }
                i++;
                continue;
            }
            if (c == '"') {
                assertTrue(field.length() == 0, "a quote inside an unquoted field at " + i);
                quoted = true;
            } else if (c == ',') {
                record.add(field.toString());
                field.setLength(0);
            } else if (c == '\n' || c == '\r') {
                if (c == '\r') {
                    assertTrue(i + 1 < text.length() && text.charAt(i + 1) == '\n', "a bare CR outside quotes at " + i);
                    i++;
                }
                record.add(field.toString());
                field.setLength(0);
                records.add(record);
                record = new ArrayList<>();
            } else {
                field.append(c);
            }
            i++;
        }
        assertFalse(quoted, "unterminated quoted field");
        if (field.length() > 0 || !record.isEmpty()) {
            record.add(field.toString());
            records.add(record);
        }
        return records;
    }
}
