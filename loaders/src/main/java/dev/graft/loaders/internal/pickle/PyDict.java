package dev.graft.loaders.internal.pickle;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Python dict or OrderedDict, in insertion order. {@code attributes} holds instance state set by BUILD:
 * {@code Module.state_dict()} puts its {@code _metadata} (module versions) there, never among the items.
 */
public final class PyDict {
    private final boolean ordered;
    private final LinkedHashMap<Object, Object> items = new LinkedHashMap<>();
    private LinkedHashMap<String, Object> attributes;                // made on first use: most dicts have none

    public PyDict(boolean ordered) {
        this.ordered = ordered;
    }

    public boolean ordered() {
        return ordered;
    }

    public Map<Object, Object> items() {
        return items;
    }

    public Map<String, Object> attributes() {
        if (attributes == null) {
            attributes = new LinkedHashMap<>();
        }
        return attributes;
    }
}
