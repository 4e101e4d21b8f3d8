package dev.graft.models;

/**
 * Text that came from a file (class names in a model's metadata, file names, messages quoting either) made safe to
 * print on a terminal: control characters (C0, DEL, C1: escape sequences, newlines, tabs, carriage returns) and the
 * bidirectional-override characters that reorder what a reader sees are written as visible escapes (backslash-n,
 * -t and -r for newline, tab and carriage return, a Java-style backslash-u escape for the rest), so a name can neither move the cursor, recolour or clear the screen, nor
 * break a one-line message or a tab-separated line. Shared by the command line and the runtime's {@code Main}.
 */
public final class PrintableText {
    private PrintableText() {
    }

    /** {@code text} with every unsafe character escaped; {@code null} as "null". */
    public static String escape(String text) {
        if (text == null) {
            return "null";
        }
        int i = 0;
        while (i < text.length() && !unsafe(text.charAt(i))) {
            i++;
        }
        if (i == text.length()) {
            return text;
        }
        StringBuilder b = new StringBuilder(text.length() + 16).append(text, 0, i);
        for (; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!unsafe(c)) {
                b.append(c);
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\r') {
                b.append("\\r");
            } else if (c == '\t') {
                b.append("\\t");
            } else {
                b.append(String.format("\\u%04x", (int) c));
            }
        }
        return b.toString();
    }

    /** A control character, or a bidirectional embedding, override, isolate or mark. */
    static boolean unsafe(char c) {
        return Character.getType(c) == Character.CONTROL
                || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069')
                || c == '\u200e' || c == '\u200f' || c == '\u061c';
    }
}
