package dev.graft.loaders.internal.pth;

import dev.graft.loaders.Format;
import dev.graft.loaders.SkippedEntry;
import dev.graft.loaders.internal.Contents;
import dev.graft.loaders.internal.Source;
import dev.graft.loaders.internal.StoredTensor;
import dev.graft.loaders.internal.pickle.Describe;
import dev.graft.loaders.internal.pickle.PyDict;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the state dict in an unpickled checkpoint. Training scripts wrap it ({@code {'epoch': 3,
 * 'state_dict': ..., 'optimizer': ...}}); the wrapper keys below are the common ones (torchvision references,
 * timm, Lightning). Only one level is looked at, never recursively: values can be cyclic.
 */
public final class StateDictSelector {
    static final List<String> WRAPPER_KEYS = List.of("state_dict", "model_state_dict", "model", "module", "net",
            "network", "weights", "params", "model_ema", "ema", "state");

    private StateDictSelector() {
    }

    public static Contents select(Source src, Format format, PthContents pth, List<String> keyPath, String singleName) {
        TensorResolver resolver = new TensorResolver(src, pth.storages());
        List<SkippedEntry> skipped = new ArrayList<>();
        Object root = pth.root();
        if (root instanceof TensorRef t && keyPath.isEmpty()) {
            return new Contents(format, List.of(resolver.resolve(singleName, t)), skipped, "", Map.of());
        }
        Object chosen = root;
        String path = "";
        if (!keyPath.isEmpty()) {
            for (String segment : keyPath) {
                PyDict d = asDict(src, chosen, path);
                Object next = lookup(d, segment);
                if (next == null) {
                    throw src.error(-1, "key path '" + String.join("/", keyPath) + "': no key '" + segment + "' in "
                            + where(path) + " (keys: " + keys(d) + ")");
                }
                skipSiblings(d, segment, path, skipped);
                chosen = next;
                path = path.isEmpty() ? segment : path + "/" + segment;
            }
        } else {
            PyDict d = asDict(src, root, "");
            if (!holdsTensors(d)) {
                String key = wrapperKey(src, d);
                skipSiblings(d, key, "", skipped);
                chosen = d.items().get(key);
                path = key;
            }
        }
        if (chosen instanceof TensorRef t) {
            return new Contents(format, List.of(resolver.resolve(singleName, t)), skipped, path, Map.of());
        }
        PyDict dict = asDict(src, chosen, path);
        List<StoredTensor> tensors = new ArrayList<>();
        for (Map.Entry<Object, Object> e : dict.items().entrySet()) {
            String name = path.isEmpty() ? Describe.value(e.getKey()) : path + "/" + Describe.value(e.getKey());
            if (!(e.getKey() instanceof String key)) {
                skipped.add(new SkippedEntry(name, "key is a " + Describe.type(e.getKey()) + ", not a str"));
            } else if (e.getValue() instanceof TensorRef t) {
                tensors.add(resolver.resolve(key, t));
            } else {
                skipped.add(new SkippedEntry(key, "not a tensor: " + Describe.value(e.getValue())));
            }
        }
        return new Contents(format, tensors, skipped, path, Map.of());
    }

    private static PyDict asDict(Source src, Object v, String path) {
        if (v instanceof PyDict d) {
            return d;
        }
        throw src.error(-1, where(path) + " is a " + Describe.type(v) + ", not a dict of tensors");
    }

    private static Object lookup(PyDict d, String segment) {
        for (Map.Entry<Object, Object> e : d.items().entrySet()) {
            if (segment.equals(e.getKey()) || (e.getKey() instanceof Long && segment.equals(e.getKey().toString()))) {
                return e.getValue();
            }
        }
        return null;
    }

    private static boolean holdsTensors(PyDict d) {
        for (Object v : d.items().values()) {
            if (v instanceof TensorRef) {
                return true;
            }
        }
        return false;
    }

    /** The wrapper key whose value is the state dict, or an error that lists the choices. */
    private static String wrapperKey(Source src, PyDict d) {
        for (String k : WRAPPER_KEYS) {
            if (d.items().get(k) instanceof PyDict inner && holdsTensors(inner)) {
                return k;
            }
        }
        Map<String, Object> candidates = new LinkedHashMap<>();
        d.items().forEach((k, v) -> {
            if (k instanceof String s && v instanceof PyDict inner && holdsTensors(inner)) {
                candidates.put(s, v);
            }
        });
        if (candidates.size() == 1) {
            return candidates.keySet().iterator().next();
        }
        throw src.error(-1, candidates.isEmpty()
                ? "no dict of tensors at the top level or one level below (keys: " + keys(d) + ")"
                : "several dicts of tensors " + candidates.keySet() + "; choose one with a key path");
    }

    private static void skipSiblings(PyDict d, String taken, String path, List<SkippedEntry> skipped) {
        d.items().forEach((k, v) -> {
            String key = Describe.value(k);
            if (!taken.equals(k) && !(k instanceof Long && taken.equals(k.toString()))) {
                String name = path.isEmpty() ? (k instanceof String s ? s : key) : path + "/" + key;
                skipped.add(new SkippedEntry(name, "outside the selected state dict: " + Describe.value(v)));
            }
        });
    }

    private static String where(String path) {
        return path.isEmpty() ? "the top-level object" : "'" + path + "'";
    }

    private static String keys(PyDict d) {
        List<String> names = new ArrayList<>();
        for (Object k : d.items().keySet()) {
            if (names.size() == 20) {
                names.add("...");
                break;
            }
            names.add(Describe.value(k));
        }
        return String.join(", ", names);
    }
}
