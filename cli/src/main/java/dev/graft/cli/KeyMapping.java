package dev.graft.cli;

import dev.graft.engine.GraftException;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.KeyPrefixes;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How {@code graft convert} renames keys: first a prefix is stripped ({@code auto}: the known wrapper prefixes
 * while every key carries one, as loading does; {@code none}; or a literal prefix that must begin some key), then
 * each key is renamed by the first {@code FROM=TO} rule whose FROM begins it. A mapping that produces the same key
 * twice, or a rule or prefix that matches no key, is an error (usually a typo).
 */
final class KeyMapping {
    static final String AUTO = "auto";
    static final String NONE = "none";

    private final String strip;
    private final List<String[]> renames = new ArrayList<>();

    KeyMapping(String strip, List<String> renameRules) {
        this.strip = strip == null ? AUTO : strip;
        for (String rule : renameRules) {
            int eq = rule.indexOf('=');
            if (eq < 0) {
                throw new GraftException("--rename '" + rule + "': expected FROM=TO, e.g. --rename head.=fc.");
            }
            renames.add(new String[] {rule.substring(0, eq), rule.substring(eq + 1)});
        }
    }

    /** The mapped dict (metadata kept) and what was done, for the report and the file's metadata. */
    record Result(StateDict dict, String description) {
    }

    Result apply(StateDict in, String file) {
        List<String> done = new ArrayList<>();
        StateDict stripped = switch (strip) {
            case AUTO -> KeyPrefixes.stripKnown(in);
            case NONE -> in;
            default -> {
                if (in.keys().stream().noneMatch(k -> k.startsWith(strip))) {
                    throw new GraftException("--strip-prefix '" + strip + "': no key of " + file + " starts with it"
                            + " (first key: " + first(in) + ")");
                }
                yield in.stripPrefix(strip);
            }
        };
        if (stripped.size() != in.size() || stripped.keys().contains("")) {
            throw new GraftException("--strip-prefix '" + strip + "' would leave duplicate or empty keys in " + file);
        }
        if (stripped != in) {
            String removed = firstKeyPrefixRemoved(in, stripped);
            done.add("stripped '" + removed + "'");
        }
        StateDict out = new StateDict();
        out.metadata().putAll(in.metadata());
        int[] hits = new int[renames.size()];
        for (Map.Entry<String, HostTensor> e : stripped.tensors().entrySet()) {
            String key = rename(e.getKey(), hits);
            if (out.contains(key)) {
                throw new GraftException("key mapping gives two tensors the name '" + key + "'; change --rename or --strip-prefix");
            }
            out.put(key, e.getValue());
        }
        for (int i = 0; i < renames.size(); i++) {
            String[] r = renames.get(i);
            if (hits[i] == 0) {
                throw new GraftException("--rename " + r[0] + "=" + r[1] + ": no key starts with '" + r[0] + "'"
                        + (stripped.size() > 0 ? " (first key after stripping: " + first(stripped) + ")" : ""));
            }
            done.add("renamed '" + r[0] + "' to '" + r[1] + "' (" + hits[i] + " keys)");
        }
        return new Result(out, String.join("; ", done));
    }

    private String rename(String key, int[] hits) {
        for (int i = 0; i < renames.size(); i++) {
            String from = renames.get(i)[0];
            if (key.startsWith(from)) {
                hits[i]++;
                return renames.get(i)[1] + key.substring(from.length());
            }
        }
        return key;
    }

    /** The text removed from the front of the first key whose name changed. */
    private static String firstKeyPrefixRemoved(StateDict before, StateDict after) {
        var a = before.keys().iterator();
        var b = after.keys().iterator();
        while (a.hasNext() && b.hasNext()) {
            String x = a.next();
            String y = b.next();
            if (!x.equals(y)) {
                return x.substring(0, x.length() - y.length());
            }
        }
        return "";
    }

    private static String first(StateDict d) {
        return d.size() == 0 ? "(none)" : d.keys().iterator().next();
    }
}
