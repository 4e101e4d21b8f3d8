package dev.graft.models;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Chooses parameters by name, relative to a module. A selector with {@code *} or {@code ?} is a glob on the
 * qualified parameter name ({@code *} matches any run of characters, dots included: {@code "layer4.*"},
 * {@code "*.bn1.*"}, {@code "fc.*"}); any other selector is a module or parameter prefix matching that name
 * and everything under it ({@code "layer3"}, {@code "layer2.0.downsample"}, {@code "fc.bias"}).
 *
 * <p>A selector that matches no parameter is an error, never a silent no-op: a misspelt freeze must not train
 * what the user meant to freeze.
 */
public final class ParameterSelector {
    private final List<Pattern> globs;
    private final List<String> prefixes;
    private final Set<String> exact;

    private ParameterSelector(List<Pattern> globs, List<String> prefixes) {
        this(globs, prefixes, Set.of());
    }

    private ParameterSelector(List<Pattern> globs, List<String> prefixes, Set<String> exact) {
        this.globs = globs;
        this.prefixes = prefixes;
        this.exact = exact;
    }

    /** Exactly these qualified names (may be empty). */
    static ParameterSelector names(Set<String> names) {
        return new ParameterSelector(List.of(), List.of(), Set.copyOf(names));
    }

    /** Every parameter. */
    public static ParameterSelector all() {
        return new ParameterSelector(List.of(Pattern.compile(".*", Pattern.DOTALL)), List.of());
    }

    /** Parses {@code selectors} and checks that each matches at least one parameter of {@code root}. */
    public static ParameterSelector of(Module root, String... selectors) {
        if (selectors.length == 0) {
            throw new ModelException("no selector given: name a module prefix (\"layer4\") or a glob (\"layer4.*\")");
        }
        List<Pattern> globs = new ArrayList<>();
        List<String> prefixes = new ArrayList<>();
        for (String s : selectors) {
            ParameterSelector one = isGlob(s) ? new ParameterSelector(List.of(glob(s)), List.of())
                    : new ParameterSelector(List.of(), List.of(s));
            if (root.namedParameters().keySet().stream().noneMatch(one::matches)) {
                throw new ModelException("selector '" + s + "' matches no parameter of " + root
                        + "; top-level modules are " + root.children().keySet()
                        + " (a prefix names a module or parameter, a glob such as \"layer4.*\" matches names)");
            }
            globs.addAll(one.globs);
            prefixes.addAll(one.prefixes);
        }
        return new ParameterSelector(globs, prefixes);
    }

    public boolean matches(String name) {
        if (exact.contains(name)) {
            return true;
        }
        for (String p : prefixes) {
            if (name.equals(p) || name.startsWith(p + ".")) {
                return true;
            }
        }
        for (Pattern g : globs) {
            if (g.matcher(name).matches()) {
                return true;
            }
        }
        return false;
    }

    private static boolean isGlob(String s) {
        return s.indexOf('*') >= 0 || s.indexOf('?') >= 0;
    }

    private static Pattern glob(String s) {
        StringBuilder re = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL);
    }
}
