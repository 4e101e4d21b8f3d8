package dev.graft.models;

import dev.graft.engine.StateDict;

import java.util.List;

/**
 * Wrapper prefixes that training code adds to state-dict keys: {@code module.} (DataParallel and
 * DistributedDataParallel), {@code model.} (Lightning modules, EMA wrappers), {@code backbone.} (detection and
 * self-supervised checkpoints). A prefix is stripped only when every key carries it, repeatedly
 * ({@code module.model.conv1.weight} becomes {@code conv1.weight}), so a model whose own keys start with one
 * of these words is never damaged.
 */
public final class KeyPrefixes {
    public static final List<String> KNOWN = List.of("module.", "model.", "backbone.");

    private KeyPrefixes() {
    }

    /** The stripped dict and what was removed ("" when nothing). */
    public record Stripped(StateDict state, String prefix) {
    }

    public static Stripped stripCommon(StateDict state) {
        StateDict s = state;
        StringBuilder removed = new StringBuilder();
        boolean again = true;
        while (again && s.size() > 0) {
            again = false;
            for (String p : KNOWN) {
                if (s.keys().stream().allMatch(k -> k.startsWith(p) && k.length() > p.length())) {
                    s = s.stripPrefix(p);
                    removed.append(p);
                    again = true;
                    break;
                }
            }
        }
        return new Stripped(s, removed.toString());
    }
}
