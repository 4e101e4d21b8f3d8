package dev.graft.loaders;

import java.util.Arrays;
import java.util.List;

/**
 * How to pick the state dict out of a checkpoint, and how much heap a load may take. With an empty key path the
 * reader takes the top-level dict if it holds tensors, else a well-known wrapper key ({@code state_dict},
 * {@code model}, ...), else the only nested dict that holds tensors. A key path such as {@code ["model", "ema"]}
 * selects explicitly. {@code maxBytes} of 0 means {@link LoadLimits#maxBytes()}, read when the load starts.
 */
public record LoadOptions(List<String> keyPath, long maxBytes) {
    private static final LoadOptions DEFAULTS = new LoadOptions(List.of());

    public LoadOptions {
        keyPath = List.copyOf(keyPath);
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be >= 0 (0: the default), got " + maxBytes);
        }
    }

    public LoadOptions(List<String> keyPath) {
        this(keyPath, 0);
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

    /** The same options with a heap budget of {@code bytes} for this load instead of the default. */
    public LoadOptions withMaxBytes(long bytes) {
        return new LoadOptions(keyPath, bytes);
    }

    /** The budget in force: {@code maxBytes}, or the default when it is 0. */
    public long budget() {
        return maxBytes > 0 ? maxBytes : LoadLimits.maxBytes();
    }
}
