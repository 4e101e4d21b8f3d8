package dev.graft.cli;

import dev.graft.models.PrintableText;

import java.util.List;

/**
 * CSV fields quoted as RFC 4180 says: a field holding a comma, a double quote, a CR or an LF is enclosed in double
 * quotes, each double quote doubled. Records end in a bare LF (RFC 4180 says CRLF; spreadsheet programs, Python's
 * csv module and Unix tools read both). Other control characters (an escape sequence in a class name) are not RFC
 * 4180 text at all; they are written as visible escapes ({@link PrintableText}), so the output is also safe to
 * print on a terminal.
 */
final class Csv {
    private Csv() {
    }

    /** One record: the fields, quoted where needed, joined by commas, ended by a newline. */
    static String record(List<String> fields) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < fields.size(); i++) {
            b.append(i == 0 ? "" : ",").append(field(fields.get(i)));
        }
        return b.append('\n').toString();
    }

    /** One field; null is an empty field. */
    static String field(String value) {
        if (value == null) {
            return "";
        }
        StringBuilder safe = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            // CR and LF are kept (quoted, as RFC 4180 allows); every other unsafe character is escaped.
            safe.append(c == '\r' || c == '\n' ? String.valueOf(c) : PrintableText.escape(String.valueOf(c)));
        }
        String s = safe.toString();
        boolean quote = s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\r') >= 0 || s.indexOf('\n') >= 0;
        return quote ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
