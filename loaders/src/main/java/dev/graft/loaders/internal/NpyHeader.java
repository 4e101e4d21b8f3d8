package dev.graft.loaders.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The header of a {@code .npy} file: a Python dict literal such as
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }} (numpy/lib/format.py). Only what that
 * literal can hold is parsed: strings, True/False, and tuples of integers. Values come back as String, Boolean
 * or long[].
 */
final class NpyHeader {
    private final String text;
    private final Source src;
    private final long base;
    private int pos;

    private NpyHeader(String text, Source src, long base) {
        this.text = text;
        this.src = src;
        this.base = base;
    }

    /** @param base the file offset of the header text, for messages */
    static Map<String, Object> parse(String text, Source src, long base) {
        return new NpyHeader(text, src, base).dict();
    }

    private Map<String, Object> dict() {
        Map<String, Object> out = new LinkedHashMap<>();
        expect('{');
        while (true) {
            skipSpace();
            if (peek() == '}') {
                pos++;
                break;
            }
            String key = string();
            expect(':');
            skipSpace();
            char c = peek();
            Object value = c == '(' ? tuple() : c == '\'' || c == '"' ? string() : bool();
            if (out.put(key, value) != null) {
                throw fail("duplicate key '" + key + "'");
            }
            skipSpace();
            if (peek() == ',') {
                pos++;
            } else if (peek() != '}') {
                throw fail("expected ',' or '}'");
            }
        }
        skipSpace();
        if (pos != text.length()) {
            throw fail("unexpected text after the header dict");
        }
        return out;
    }

    private long[] tuple() {
        expect('(');
        List<Long> dims = new ArrayList<>();
        while (true) {
            skipSpace();
            if (peek() == ')') {
                pos++;
                break;
            }
            int start = pos;
            while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
                pos++;
            }
            if (pos == start) {
                throw fail("shape must hold non-negative integers");
            }
            if (pos - start > 18) {
                String digits = pos - start > 24 ? text.substring(start, start + 24) + "..." : text.substring(start, pos);
                pos = start;
                throw fail("shape dimension " + digits + " has more than 18 digits; no array is that large");
            }
            dims.add(Long.parseLong(text.substring(start, pos)));      // at most 18 digits: always a long
            if (pos < text.length() && text.charAt(pos) == 'L') {
                pos++;                                     // Python 2 long suffix
            }
            skipSpace();
            if (peek() == ',') {
                pos++;
            } else if (peek() != ')') {
                throw fail("expected ',' or ')' in shape");
            }
            if (dims.size() > dev.graft.loaders.LoadLimits.MAX_RANK) {
                throw fail("shape has more than " + dev.graft.loaders.LoadLimits.MAX_RANK + " dimensions");
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    private String string() {
        skipSpace();
        char quote = peek();
        if (quote != '\'' && quote != '"') {
            throw fail("expected a quoted string");
        }
        int end = text.indexOf(quote, pos + 1);
        if (end < 0) {
            throw fail("unterminated string");
        }
        String s = text.substring(pos + 1, end);
        pos = end + 1;
        return s;
    }

    private Boolean bool() {
        if (text.startsWith("True", pos)) {
            pos += 4;
            return Boolean.TRUE;
        }
        if (text.startsWith("False", pos)) {
            pos += 5;
            return Boolean.FALSE;
        }
        throw fail("expected a string, a tuple, True or False");
    }

    private void expect(char c) {
        skipSpace();
        if (peek() != c) {
            throw fail("expected '" + c + "'");
        }
        pos++;
    }

    private char peek() {
        if (pos >= text.length()) {
            throw fail("header ends early");
        }
        return text.charAt(pos);
    }

    private void skipSpace() {
        while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
            pos++;
        }
    }

    private RuntimeException fail(String reason) {
        return src.error(base + Math.min(pos, text.length()), "npy header: " + reason);
    }
}
