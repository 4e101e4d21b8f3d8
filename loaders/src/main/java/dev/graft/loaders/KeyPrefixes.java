package dev.graft.loaders;

import dev.graft.engine.StateDict;
import java.util.List;

/**
 * Wrapper prefixes that training code adds to every key: {@code module.} (DataParallel and
 * DistributedDataParallel), {@code model.} (Lightning and many scripts), {@code backbone.} (detection and
 * self-supervised repos), {@code _orig_mod.} ({@code torch.compile}). Only these are recognised: stripping
 * an arbitrary common prefix would turn {@code fc.weight, fc.bias} into {@code weight, bias}.
 */
public final class KeyPrefixes {
    public static final List<String> KNOWN = List.of("module.", "model.", "backbone.", "_orig_mod.");

    private KeyPrefixes() {
    }

    /** The known prefix every key starts with, or "" if none (or the dict is empty). */
    public static String detect(StateDict dict) {
        if (dict.size() == 0) {
            return "";
        }
        for (String p : KNOWN) {
            if (dict.keys().stream().allMatch(k -> k.startsWith(p) && k.length() > p.length())) {
                return p;
            }
        }
        return "";
    }

    /**
     * Strips known prefixes while every key has one, so {@code module.model.conv1.weight} becomes
     * {@code conv1.weight}; returns {@code dict} itself when there is nothing to strip.
     */
    public static StateDict stripKnown(StateDict dict) {
        StateDict out = dict;
        for (String p = detect(out); !p.isEmpty(); p = detect(out)) {
            out = out.stripPrefix(p);
        }
        return out;
    }
}
