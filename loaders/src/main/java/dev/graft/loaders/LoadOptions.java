package dev.graft.loaders;

import java.util.Arrays;
import java.util.List;

/**
 * How to pick the state dict out of a checkpoint. With an empty key path the reader takes the top-level dict if
 * it holds tensors, else a well-known wrapper key ({@code state_dict}, {@code model}, ...), else the only nested
 * dict that holds tensors. A key path such as {@code ["model", "ema"]} selects explicitly.
 */
public record LoadOptions(List<String> keyPath) {
    private static final LoadOptions DEFAULTS = new LoadOptions(List.of());

    public LoadOptions {
        keyPath = List.copyOf(keyPath);
    }

    public static LoadOptions defaults() {
        return DEFAULTS;
    }

    public static LoadOptions keyPath(String... segments) {
        return new LoadOptions(Arrays.asList(segments));
    }

    /** {@code "model/ema"} -> ["model", "ema"] ('/' separates, since tensor names contain dots); "" -> none. */
    public static LoadOptions parseKeyPath(String path) {
        return path == null || path.isEmpty() ? DEFAULTS : new LoadOptions(Arrays.asList(path.split("/")));
    }
}
