package dev.graft.engine;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * An ordered name -> tensor map plus string metadata: what a loader returns and a model accepts (loaders
 * and models do not know each other). Names follow torchvision's {@code state_dict()} keys.
 */
public final class StateDict {
    private final LinkedHashMap<String, HostTensor> tensors = new LinkedHashMap<>();
    private final LinkedHashMap<String, String> metadata = new LinkedHashMap<>();

    public StateDict put(String name, HostTensor tensor) {
        tensors.put(name, tensor);
        return this;
    }

    public HostTensor get(String name) {
        return tensors.get(name);
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public HostTensor remove(String name) {
        return tensors.remove(name);
    }

    public Set<String> keys() {
        return Collections.unmodifiableSet(tensors.keySet());
    }

    /** Entries in insertion order (read-only view). */
    public Map<String, HostTensor> tensors() {
        return Collections.unmodifiableMap(tensors);
    }

    public int size() {
        return tensors.size();
    }

    /** Free-form string metadata (safetensors' {@code __metadata__}; architecture, classes, preprocessing). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Total number of elements of the floating-point tensors. */
    public long floatingElements() {
        long n = 0;
        for (HostTensor t : tensors.values()) {
            if (t.dtype().isFloating()) {
                n += t.shape().numel();
            }
        }
        return n;
    }

    /** A copy whose keys have {@code prefix} removed where present (e.g. {@code module.} from DataParallel). */
    public StateDict stripPrefix(String prefix) {
        StateDict out = new StateDict();
        out.metadata.putAll(metadata);
        tensors.forEach((k, v) -> out.put(k.startsWith(prefix) ? k.substring(prefix.length()) : k, v));
        return out;
    }
}
